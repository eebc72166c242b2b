"""An admin user's browser, reduced to what saving a change form needs.

It keeps cookies, fills the login form, reads a change form's current values (inputs,
selects, textareas, the inline formsets' management forms) and posts them back with the
changes, as a browser would. Plain `http.client`, so it has no dependencies.
"""

import http.client
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str
    seconds: float


class FormReader(HTMLParser):
    """The fields a browser would submit from the form with `form_id`."""

    SKIPPED_TYPES = {"submit", "button", "image", "file", "reset"}

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: tuple[str, bool] | None = None
        self._select_values: list[str] = []
        self._first_option: str | None = None
        self._option: dict | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {key: (value if value is not None else "") for key, value in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
            return
        if not self.inside:
            return
        if tag == "input" and "name" in a and "disabled" not in a:
            kind = a.get("type", "text").lower()
            if kind in self.SKIPPED_TYPES:
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.fields.append((a["name"], a.get("value", default)))
        elif tag == "select" and "name" in a and "disabled" not in a:
            self._select = (a["name"], "multiple" in a)
            self._select_values, self._first_option = [], None
        elif tag == "option" and self._select is not None:
            self._option = a
            self._text = []
        elif tag == "textarea" and "name" in a and "disabled" not in a:
            self._textarea = a["name"]
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None or self._option is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "option" and self._option is not None:
            value = self._option.get("value", "".join(self._text).strip())
            if self._first_option is None:
                self._first_option = value
            if "selected" in self._option:
                self._select_values.append(value)
            self._option = None
        elif tag == "select" and self._select is not None:
            name, multiple = self._select
            values = self._select_values
            if not values and not multiple and self._first_option is not None:
                values = [self._first_option]
            self.fields += [(name, value) for value in values]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the one newline that follows <textarea>.
            self.fields.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None


def read_form(html: str, form_id: str) -> list[tuple[str, str]]:
    reader = FormReader(form_id)
    reader.feed(html)
    reader.close()
    return reader.fields


@dataclass
class AdminSession:
    """One signed-in editor against `base_url` (http://host:port)."""

    base_url: str
    timeout: float = 30.0
    cookies: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self._connection: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def request(
        self,
        method: str,
        path: str,
        *,
        form: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """One request over a kept-alive connection (reopened once if it was closed)."""
        send = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        if self.cookies:
            send["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            send["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
            started = time.perf_counter()
            try:
                self._connection.request(method, path, body=body, headers=send)
                response = self._connection.getresponse()
                text = response.read().decode("utf-8", "replace")
            except (
                http.client.RemoteDisconnected,
                ConnectionResetError,
                BrokenPipeError,
            ):
                # The server closed an idle kept-alive connection: reconnect once.
                self.close()
                if attempt == 2:
                    raise
                continue
            seconds = time.perf_counter() - started
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return Reply(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                text,
                seconds,
            )
        raise AssertionError("unreachable")

    def login(self, username: str, password: str) -> None:
        page = self.request("GET", "/admin/login/")
        fields = dict(read_form(page.body, "login-form"))
        fields.update(username=username, password=password, next="/admin/")
        reply = self.request(
            "POST", "/admin/login/?next=/admin/", form=list(fields.items())
        )
        if reply.status != 302:
            raise RuntimeError(f"admin login failed: HTTP {reply.status}")

    def save(
        self, change_url: str, form_id: str, changes: dict[str, Callable[[str], str]]
    ) -> tuple[Reply, str]:
        """Open a change form, apply `changes` (field -> new value from the current
        one) and save it.

        Returns the reply to the POST (302 when saved) and the error text the admin
        showed, if any.
        """
        page = self.request("GET", change_url)
        if page.status != 200:
            return page, f"change form answered HTTP {page.status}"
        fields = [
            (name, changes[name](value) if name in changes else value)
            for name, value in read_form(page.body, form_id)
        ]
        fields.append(("_save", "Save"))
        reply = self.request("POST", change_url, form=fields)
        if reply.status == 302:
            return reply, ""
        return reply, _admin_errors(reply.body) or f"HTTP {reply.status}"


def _admin_errors(html: str) -> str:
    """The text of the admin's error list(s), for a report."""

    class Errors(HTMLParser):
        def __init__(self):
            super().__init__()
            self.depth = 0
            self.text: list[str] = []

        def handle_starttag(self, tag, attrs):
            classes = dict(attrs).get("class") or ""
            if self.depth or "errorlist" in classes.split():
                self.depth += 1

        def handle_endtag(self, tag):
            if self.depth:
                self.depth -= 1

        def handle_data(self, data):
            if self.depth and data.strip():
                self.text.append(data.strip())

    parser = Errors()
    parser.feed(html)
    return "; ".join(parser.text)[:500]
