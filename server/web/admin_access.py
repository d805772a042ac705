"""Who administers CRM Sync on the pages: whoever the id token of their sign-in names
an administrator (`WebUser.is_admin`: the app role Crm.Admin in `roles`, or the Global
Administrator directory role in `wids`; server/auth/principal.py). Entra ID decides,
never our database: no row, not even being the tenant's first user, makes anyone
admin. The settings, Test connection and admin pages let only administrators change
things."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import abort, g

from server.crm.models import User
from server.web.blueprint import bp
from server.web.signed_in_user import current_user

View = TypeVar("View", bound=Callable)


def is_admin() -> bool:
    """Whether the signed-in user administers CRM Sync (False when nobody is signed in)."""
    user = current_user()
    return bool(user is not None and user.is_admin)


def admin_only(view: View) -> View:
    """Marks a view only the tenant's admin may use: the page guard checks the right
    before the request's body is read (an upload's is large), then the view as usual."""
    view.admin_only = True  # type: ignore[attr-defined]
    return view


def require_admin() -> None:
    """403 unless the signed-in user administers CRM Sync."""
    if not is_admin():
        abort(403)


def admin_user() -> User:
    """The signed-in admin's CRM user; 403 for everyone else."""
    require_admin()
    return g.crm_user


@bp.app_template_global("is_crm_admin")
def is_crm_admin() -> bool:
    """Whether the signed-in user administers CRM Sync (the nav's Jobs link)."""
    return is_admin()
