"""Helpers for the emulated-Graph tests: fixed identities, a tiny Graph client, a webhook receiver."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.support.identities import CLIENT_ID

APP_ID = CLIENT_ID
ALL_SCOPES = ["Mail.ReadWrite", "Contacts.ReadWrite", "MailboxSettings.ReadWrite", "User.Read", "offline_access"]
ALL_ROLES = ["Mail.ReadWrite", "Contacts.ReadWrite", "MailboxSettings.ReadWrite"]

PROPERTY_SET = "{3f1c8e2a-5b7d-4c9e-8a1f-2d6b4e0c9a57}"
SYNC_STATE = f"String {PROPERTY_SET} Name CrmSyncState"
EMAIL_ID = f"String {PROPERTY_SET} Name CrmEmailId"
IMMUTABLE = {"Prefer": 'IdType="ImmutableId"'}


class Graph:
    """Graph requests as one caller (a delegated or app-only token)."""

    def __init__(self, emulator, token: str, user_path: str = "/me"):
        self.emulator = emulator
        self.token = token
        self.user = user_path

    def request(self, method, path, **kw):
        if path.startswith("~"):
            path = self.user + path[1:]
        return self.emulator.graph(method, path, self.token, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def find(self, subject: str, folder: str = "inbox", immutable: bool = False) -> dict:
        """The one message in `folder` whose subject is `subject` (the fixture's markers)."""
        headers = IMMUTABLE if immutable else {}
        quoted = subject.replace("'", "''")
        r = self.get(f"~/mailFolders/{folder}/messages", params={"$filter": f"subject eq '{quoted}'"}, headers=headers)
        assert r.status_code == 200, r.text
        found = r.json()["value"]
        assert len(found) == 1, f"{subject!r}: {len(found)} messages"
        return found[0]

    def all_pages(self, path, **kw) -> list[dict]:
        """Follow @odata.nextLink to the end; returns every item."""
        items, r = [], self.get(path, **kw)
        kw.pop("params", None)
        while True:
            assert r.status_code == 200, r.text
            body = r.json()
            items += body["value"]
            if "@odata.nextLink" not in body:
                return items
            r = self.emulator.session.get(
                body["@odata.nextLink"],
                timeout=30,
                headers={"Authorization": f"Bearer {self.token}", **kw.get("headers", {})},
            )


def assert_graph_error(response, status: int, code: str | None = None) -> dict:
    """The response is Graph's error body with `status` (and `code`)."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"]
    assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}
    assert "Traceback" not in response.text
    if code:
        assert error["code"] == code, error
    return error


class WebhookReceiver:
    """A local plain-HTTP endpoint like the backend's: echoes validation tokens, records notifications."""

    def __init__(self, validate=True, status=202, content_type="text/plain"):
        self.validate = validate
        self.content_type = content_type
        self.status = status
        self.validations: list[str] = []
        self.notifications: list[dict] = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                query = parse_qs(urlsplit(self.path).query)
                if "validationToken" in query:
                    token = query["validationToken"][0]
                    with receiver.cond:
                        receiver.validations.append(token)
                    if receiver.validate:
                        data = token.encode()
                        self.send_response(200)
                        self.send_header("Content-Type", receiver.content_type)
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                    else:
                        self.send_response(403)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    return
                with receiver.cond:
                    receiver.notifications.append({"path": urlsplit(self.path).path, "body": json.loads(raw)})
                    receiver.cond.notify_all()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, predicate, timeout=10.0) -> list[dict]:
        """Wait until some received notifications satisfy `predicate(note)`; returns them."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [n for n in self.received() if predicate(n)]
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self.cond.wait(left)

    def received(self) -> list[dict]:
        """Every notification item (the entries of each POST's "value"), with the path it came to."""
        return [dict(item, _path=n["path"]) for n in self.notifications for item in n["body"]["value"]]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
