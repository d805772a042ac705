"""A real emulator process over real HTTPS: start and stop it, and a small client for
its admin API and its Graph (the session's `emulator` fixture in tests/conftest.py, and
the benchmarks' stack, run it this way)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import requests

from server.graph.pacer import reset_pacers
from tests.support.paths import ROOT

TEST_FIXTURE = ROOT / "emulator" / "fixtures" / "test.json"
READY = re.compile(r"Emulator ready: (https://\S+)")
START_TIMEOUT_S = 30


class EmulatorProcess:
    """A running emulator: its URLs, CA, an HTTPS session that trusts it, admin helpers."""

    def __init__(self, base_url: str, state_dir: Path, process: subprocess.Popen, log_path: Path):
        self.base_url = base_url
        self.graph_url = base_url + "/v1.0"
        self.state_dir = state_dir
        self.ca_path = str(state_dir / "ca.pem")
        self.process = process
        self.log_path = log_path
        self.session = trusting_session(self.ca_path)

    # -- admin API ---------------------------------------------------------------
    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.session.request(method, f"{self.base_url}/_emulator/{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response

    def users(self) -> list[dict]:
        return self.admin("GET", "users").json()["users"]

    def user(self, upn: str) -> dict:
        return next(u for u in self.users() if u["upn"].lower() == upn.lower())

    def add_user(self, upn: str, app_roles=(), directory_roles=(), **fields) -> dict:
        """Adds a user (until the next reset) with these app roles of our app and
        directory role template ids; fields: tid, display_name, oid."""
        body = {"upn": upn, "app_roles": list(app_roles), "directory_roles": list(directory_roles), **fields}
        return self.admin("POST", "users", json=body).json()

    def set_roles(self, upn: str, app_roles=None, directory_roles=None) -> dict:
        """Replaces a user's app roles of our app and/or directory roles (None: kept)."""
        body = {}
        if app_roles is not None:
            body["app_roles"] = list(app_roles)
        if directory_roles is not None:
            body["directory_roles"] = list(directory_roles)
        return self.admin("PUT", f"users/{upn}/roles", json=body).json()

    def pane_token(self, upn: str, **kw) -> str:
        """The token Office would hand the pane (kw: ver, expires_in, scope, client_id)."""
        return self.admin("GET", "pane-token", params={"upn": upn, **kw}).json()["access_token"]

    def graph_token(self, upn: str, **kw) -> str:
        return self.admin("GET", "graph-token", params={"upn": upn, **kw}).json()["access_token"]

    def app_token(self, tid: str, **kw) -> str:
        return self.admin("GET", "app-token", params={"tid": tid, **kw}).json()["access_token"]

    def requests(self, path: str | None = None, method: str | None = None) -> list[dict]:
        """Logged Graph/token requests, optionally those whose path matches a regex / method."""
        rows = self.admin("GET", "requests").json()["requests"]
        return [
            r
            for r in rows
            if (path is None or re.search(path, r["path"])) and (method is None or r["method"] == method)
        ]

    def clear_requests(self) -> None:
        self.admin("DELETE", "requests")

    def fault(self, **rule) -> str:
        """Add a fault rule (path, kind, method, retry_after, latency_ms, count, seconds, every, probability)."""
        return self.admin("POST", "faults", json=rule).json()["id"]

    def clear_faults(self) -> None:
        self.admin("DELETE", "faults")

    def limits(self, **limits) -> dict:
        return self.admin("POST", "limits", json=limits).json()

    def consent(self, tid: str, client_id: str | None = None, scopes=None, roles=None) -> dict:
        body = {"tid": tid, "scopes": scopes, "roles": roles}
        if client_id:
            body["client_id"] = client_id
        return self.admin("POST", "consent", json=body).json()

    def mailbox_scope(
        self, tid: str, mailboxes: list[str] | None, group: str | None = None, kind: str = "policy"
    ) -> dict:
        """Scopes the app's app-only access in `tid` to `mailboxes` (None: every mailbox), as
        an application access policy ("policy") or RBAC for Applications ("rbac") does."""
        body = {"tid": tid, "mailboxes": mailboxes, "group": group, "kind": kind}
        return self.admin("POST", "mailbox-scope", json=body).json()

    def account(self, upn: str, **changes) -> dict:
        """Changes a user's account in Entra (enabled=False, revoke_sessions=True)."""
        return self.admin("POST", "account", json={"upn": upn, **changes}).json()

    def deliver(self, upn: str, message: dict, folder: str = "inbox") -> dict:
        return self.admin("POST", "messages", json={"upn": upn, "folder": folder, "message": message}).json()

    def send(self, upn: str, message: dict) -> dict:
        """`upn` sends `message` (POST /_emulator/messages/send): {"sent", "delivered"}."""
        return self.admin("POST", "messages/send", json={"upn": upn, "message": message}).json()

    def reset(self) -> None:
        """The emulator's state back to its fixture; this process's pacers forget what the
        old state made them count or hold (a 429's Retry-After)."""
        self.admin("POST", "reset")
        reset_pacers()

    # -- Graph -------------------------------------------------------------------
    def graph(self, method: str, path: str, token: str, **kwargs) -> requests.Response:
        """A Graph request with a bearer token (path relative to /v1.0)."""
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return self.session.request(
            method, self.graph_url + path, headers=headers, timeout=kwargs.pop("timeout", 30), **kwargs
        )


def trusting_session(ca_path: str) -> requests.Session:
    """A Session that trusts only the emulator's CA (REQUESTS_CA_BUNDLE would override verify)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_path
    return session


def start_emulator(state_dir: Path, fixture: Path | None = TEST_FIXTURE, extra_args=()) -> EmulatorProcess:
    """Start `python -m emulator` and wait for its ready line; raises RuntimeError on failure."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "emulator.log"
    args = [sys.executable, "-m", "emulator", "--port", "0", "--state-dir", str(state_dir), "--quiet", *extra_args]
    if fixture is not None:
        args += ["--fixture", str(fixture)]
    log = open(log_path, "w")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    log.close()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        match = READY.search(log_path.read_text())
        if match:
            return EmulatorProcess(match.group(1), state_dir, process, log_path)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    stop_emulator(process)
    raise RuntimeError(f"emulator did not start:\n{log_path.read_text()}")


def stop_emulator(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
