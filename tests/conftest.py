import pytest

from tests.factories import StaffFactory


@pytest.fixture
def staff_client(client):
    """A logged-in staff superuser."""
    client.force_login(StaffFactory())
    return client
