"""The caller's address for the audit log: set for each request (API and pages) from
`request.remote_addr` (behind a proxy, configure werkzeug's ProxyFix so it is the
caller's, see ratelimit.py), and cleared when the request ends, so that
`server.crm.audit.record` finds it without the CRM knowing Flask."""

from __future__ import annotations

from flask import Flask, g, request

from server.crm import audit


def init_app(app: Flask) -> None:
    app.before_request(_remember_address)
    app.teardown_request(_forget_address)


def _remember_address() -> None:
    g.audit_address_token = audit.client_address.set(request.remote_addr or None)


def _forget_address(_error: BaseException | None) -> None:
    token = g.pop("audit_address_token", None)
    if token is not None:
        audit.client_address.reset(token)
