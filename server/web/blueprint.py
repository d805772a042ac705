"""The CRM's web pages' one Flask Blueprint (not in the OpenAPI), with its session
cookie settings.

Routes live in one module per page: signin.py (/auth/...), search_pages.py,
email_pages.py, contact_pages.py, company_pages.py, case_pages.py, task_pages.py
(/crm/...), settings_page.py and connection_check_page.py (/crm/settings...), and
the admin_*_page.py modules (/crm/admin/...); page_guard.py and error_pages.py
apply to all of them. Templates are in server/templates/crm/, CSS and scripts in
server/static/ (served at /crm/static/).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

from server.crm.addresses import display_address

SERVER_DIR = Path(__file__).resolve().parent.parent

bp = Blueprint(
    "web",
    __name__,
    template_folder=str(SERVER_DIR / "templates"),
    static_folder=str(SERVER_DIR / "static"),
    static_url_path="/crm/static",
)

# `{{ address|display_address }}`: addresses and domains with their domain in Unicode,
# as people read them (the database holds the IDNA form that matching compares).
bp.add_app_template_filter(display_address, "display_address")

# The signed-in session's id (page_session.py keeps the session itself on the server).
SESSION_COOKIE = "crm_session"
# `__Host-`: the browser accepts the cookie only over HTTPS, for our host, on path /.
SECURE_SESSION_COOKIE = "__Host-crm_session"
# The sign-in round trip's state, before there is a session (a signed cookie).
FLOW_COOKIE = "crm_signin"
SECURE_FLOW_COOKIE = "__Host-crm_signin"


@bp.record_once
def configure_session_cookie(state) -> None:
    """The session cookies: HttpOnly, SameSite=Lax, and Secure (+ __Host- name) when
    the pages are served over https. Lax keeps it on the top-level redirect back
    from the sign-in page while cross-site posts go without it."""
    config = state.app.config
    https = config["PUBLIC_BASE_URL"].startswith("https://")
    if config.get("SESSION_COOKIE_NAME") in (None, "session"):
        config["SESSION_COOKIE_NAME"] = SECURE_SESSION_COOKIE if https else SESSION_COOKIE
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["SESSION_COOKIE_SECURE"] = https
    config["SESSION_COOKIE_PATH"] = "/"
