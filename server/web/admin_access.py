"""Who administers a tenant: its first user, i.e. the first person of the
organization to use CRM Sync (pane or pages; the lowest users.id of the tenant).
The settings, Test connection and admin pages let only this user change things."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import abort, g
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.crm.models import User
from server.db import db_session
from server.web.blueprint import bp

View = TypeVar("View", bound=Callable)


def admin_of(session_: Session, tenant_id: str) -> User | None:
    """The tenant's administrator: its first user."""
    return session_.scalar(select(User).where(User.tenant_id == tenant_id).order_by(User.id).limit(1))


def is_admin(session_: Session, user: User) -> bool:
    first = session_.scalar(select(func.min(User.id)).where(User.tenant_id == user.tenant_id))
    return first == user.id


def admin_only(view: View) -> View:
    """Marks a view only the tenant's admin may use: the page guard checks the right
    before the request's body is read (an upload's is large), then the view as usual."""
    view.admin_only = True  # type: ignore[attr-defined]
    return view


def require_admin() -> None:
    """403 unless the signed-in user administers the tenant."""
    if not is_admin(db_session(), g.crm_user):
        abort(403)


def admin_user() -> User:
    """The signed-in admin; 403 for everyone else."""
    require_admin()
    return g.crm_user


@bp.app_template_global("is_crm_admin")
def is_crm_admin() -> bool:
    """Whether the signed-in user administers the tenant (the nav's Admin link)."""
    if "crm_is_admin" not in g:
        user = g.get("crm_user")
        g.crm_is_admin = bool(user is not None and is_admin(db_session(), user))
    return g.crm_is_admin
