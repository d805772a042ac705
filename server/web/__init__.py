"""The CRM's web pages (server-rendered Jinja): sign-in, records, search, settings,
and the admin's import and jobs pages.

`bp` is the one blueprint all of them share (its endpoints are `web.<view>`).
Importing the modules below attaches their routes and hooks to it.
"""

from server.web import (  # noqa: F401  (each module attaches its routes to bp)
    admin_access,
    admin_audit_page,
    admin_bulk_sync_page,
    admin_import_page,
    admin_jobs_page,
    attachment_pages,
    case_pages,
    company_pages,
    connection_check_page,
    contact_pages,
    email_pages,
    error_pages,
    favicon,
    i18n,
    page_guard,
    page_limits,
    page_session,
    page_words,
    search_pages,
    session_pages,
    settings_page,
    signin,
    task_pages,
)
from server.web.blueprint import bp

__all__ = ["bp"]
