import pytest
from django.urls import reverse

from tests.factories import CaseFactory


@pytest.mark.django_db
def test_case_list_shows_cases(client):
    case = CaseFactory(title="Alpha v. Beta")
    response = client.get(reverse("case_list"))
    assert response.status_code == 200
    assert "Alpha v. Beta" in response.text
    assert case.get_absolute_url() in response.text
