"""Words the pages show for stored values (a case's status, the kind of a linked
record, why an email was filed on it), in the page's language."""

from __future__ import annotations

from flask_babel import lazy_gettext

from server.web.blueprint import bp

CASE_STATUS = {"open": lazy_gettext("open"), "closed": lazy_gettext("closed")}
RECORD_KIND = {
    "contact": lazy_gettext("contact"),
    "company": lazy_gettext("company"),
    "case": lazy_gettext("case"),
    "task": lazy_gettext("task"),
}
LINK_SOURCE = {
    "address": lazy_gettext("by address"),
    "company": lazy_gettext("through the company"),
    "rule": lazy_gettext("by a sharing rule"),
    "conversation": lazy_gettext("by its conversation"),
    "manual": lazy_gettext("by hand"),
}


@bp.app_template_global("case_status")
def case_status(value: str) -> str:
    return str(CASE_STATUS.get(value, value))


@bp.app_template_global("record_kind")
def record_kind(value: str) -> str:
    return str(RECORD_KIND.get(value, value))


@bp.app_template_global("link_source")
def link_source(value: str) -> str:
    return str(LINK_SOURCE.get(value, value))
