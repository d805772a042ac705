"""The CRM's web pages (server-rendered Jinja): sign-in, records, search, settings,
and the admin's import and jobs pages.

`bp` is registered through server/routes/web.py. Importing the modules below
attaches their routes to it.
"""
from server.web.blueprint import bp
from server.web import admin_pages, pages, settings_page, signin  # noqa: F401  (routes)

__all__ = ["bp"]
