"""The CRM's pages (/crm/...): email, contact, company, case, task, their lists,
and search. Every page is scoped to the signed-in user's tenant: another tenant's
id is answered 404, exactly like an id that does not exist.
"""
from __future__ import annotations

import re

from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from server.crm import cases as crm_cases
from server.crm.keyset import InvalidCursor
from server.crm.models import Case, Company, Contact, Email, Task, User
from server.crm.sanitise import sanitise_html
from server.crm.tenants import get_or_create_user
from server.db import db_session
from server.errors import ApiError, error_response, from_http_exception
from server.web import csrf, records
from server.web.blueprint import bp
from server.web.security import page_policy
from server.web.signin import current_user

NOTE_MAX_LENGTH = 10_000
# The sanitiser leaves remote images as <img data-src="https://...">; its output
# always double-quotes attributes and escapes their values.
_BLOCKED_IMAGE = re.compile(r'\sdata-src="(https?://[^"]*)"', re.IGNORECASE)


# -- every request ----------------------------------------------------------------------

@bp.before_request
def guard():
    """CSRF on every unsafe request; sign-in required for every /crm page."""
    csrf.protect()
    if not request.path.startswith("/crm/") or request.endpoint == "web.static":
        return None
    user = current_user()
    if user is None:
        if request.method == "GET":
            return redirect(url_for("web.signin", next=request.full_path.rstrip("?")))
        abort(401)
    db = db_session()
    crm_user = User.by_oid(db, user.tid, user.oid)
    if crm_user is None:   # signed in before the CRM user existed (e.g. a restored database)
        crm_user = get_or_create_user(db, user.tid, user.oid, upn=user.upn, name=user.name,
                                      auto_link_companies=current_app.config.get("AUTO_LINK_COMPANIES"))
        db.commit()
    g.crm_user = crm_user
    return None


@bp.after_request
def page_headers(response):
    """CSP for the pages (the app's default policy is for the add-in) and no caching
    of private records."""
    if request.endpoint == "web.static":
        return response
    response.headers["Content-Security-Policy"] = page_policy(
        remote_images=bool(g.get("show_remote_images")),
        inline_style_attributes=bool(g.get("email_body_shown")))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_global("csrf_token")
def csrf_token_global() -> str:
    return csrf.csrf_token()


@bp.context_processor
def page_context():
    return {
        "signed_in": current_user(),
        "query": request.args.get("q", "") if request.endpoint in ("web.search", "web.home") else "",
    }


ERROR_TEXT = {
    400: ("Something in this request was not right", "Go back, reload the page and try again."),
    401: ("Sign in to continue", "Your session has ended. Sign in again."),
    403: ("Not allowed", "You do not have permission for this page."),
    404: ("Not found", "This record does not exist, or it belongs to another organization. "
                       "Search for it, or go back to the list."),
    405: ("Not allowed", "This address does not accept that kind of request."),
    413: ("Too large", "What you sent is larger than this server accepts. Shorten it and try again."),
}


def error_page(status: int, detail: str | None = None):
    title, hint = ERROR_TEXT.get(status, ("Something went wrong", "Try again in a moment."))
    return render_template("crm/error.html", status=status, title=title, hint=hint, detail=detail), status


def wants_json() -> bool:
    """An API-like caller (fetch with Accept: application/json) gets the one error shape."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    detail = exc.description if exc.code == 400 and exc.description and "form" in exc.description else None
    if wants_json():
        error = from_http_exception(exc)
        if detail:
            error.message = detail
        return error_response(error)
    return error_page(exc.code or 500, detail)


@bp.errorhandler(InvalidCursor)
def bad_cursor(_exc):
    return error_page(400, "That page link is not valid. Start from the first page.")


@bp.errorhandler(ApiError)
def api_error(exc: ApiError):
    if wants_json():
        return error_response(exc)
    return error_page(exc.status if exc.status in ERROR_TEXT else 503, exc.message)


def tenant() -> str:
    return g.crm_user.tenant_id


def found(record):
    """The record, or 404: used for every id in a URL."""
    if record is None:
        abort(404)
    return record


# -- search -------------------------------------------------------------------------------

@bp.get("/crm/")
def home():
    """Search box and the latest filed emails."""
    latest = records.emails_page(db_session(), tenant(), None)
    return render_template("crm/home.html", latest=latest.rows)


@bp.get("/crm/search")
def search():
    """Prefix search across contacts, companies, emails, cases and tasks."""
    results = records.search(db_session(), tenant(), request.args.get("q"))
    return render_template("crm/search.html", results=results)


# -- emails -------------------------------------------------------------------------------

def email_body(email: Email, show_images: bool) -> tuple[Markup, int]:
    """The body, sanitised again (cheap insurance), and how many remote images it
    holds; they get a real src only when `show_images`."""
    body = sanitise_html(email.body_html)
    blocked = len(_BLOCKED_IMAGE.findall(body))
    if show_images and blocked:
        body = _BLOCKED_IMAGE.sub(r' src="\1" referrerpolicy="no-referrer"', body)
    return Markup(body), blocked


@bp.get("/crm/emails")
def emails():
    """Every filed email, newest first."""
    page = records.emails_page(db_session(), tenant(), request.args.get("after"))
    return render_template("crm/emails.html", page=page)


@bp.get("/crm/emails/<int:email_id>")
def email(email_id: int):
    """One filed email: header, body, attachments, linked records, notes, conversation."""
    db = db_session()
    item = found(Email.get(db, tenant(), email_id))
    show_images = request.args.get("images") == "1"
    body, blocked = email_body(item, show_images)
    g.email_body_shown = True
    g.show_remote_images = show_images and blocked > 0
    notes = crm_cases.list_notes(db, tenant(), item)
    authors = crm_cases.users_by_id(db, tenant(), [n.author_id for n in notes])
    return render_template(
        "crm/email.html", email=item, body=body, blocked_images=blocked, show_images=show_images,
        linked=records.linked_records(db, tenant(), item), notes=notes, authors=authors,
        conversation=records.conversation_of(db, tenant(), item))


@bp.post("/crm/emails/<int:email_id>/notes")
def add_note(email_id: int):
    """Adds a note to a filed email (visible to everyone who can see the email)."""
    db = db_session()
    item = found(Email.get(db, tenant(), email_id))
    text = request.form.get("body") or ""
    if len(text) > NOTE_MAX_LENGTH:
        session["flash_note"] = f"A note can be at most {NOTE_MAX_LENGTH} characters."
    else:
        try:
            crm_cases.add_note(db, tenant(), g.crm_user, item, text)
        except ValueError:
            session["flash_note"] = "Write something before adding the note."
    return redirect(url_for("web.email", email_id=item.id) + "#notes", code=303)


@bp.app_template_global("pop_note_message")
def pop_note_message() -> str | None:
    return session.pop("flash_note", None)


# -- contacts and companies -----------------------------------------------------------------

@bp.get("/crm/contacts")
def contacts():
    """Contacts by name."""
    page = records.contacts_page(db_session(), tenant(), request.args.get("after"))
    return render_template("crm/contacts.html", page=page)


@bp.get("/crm/contacts/<int:contact_id>")
def contact(contact_id: int):
    """One contact: details, company, linked Outlook contacts, timeline of emails."""
    db = db_session()
    person = found(Contact.get(db, tenant(), contact_id, include_deleted=True))
    links = records.outlook_links_of(db, tenant(), person.id)
    users = crm_cases.users_by_id(db, tenant(), [link.user_id for link in links])
    page = records.emails_page(db, tenant(), request.args.get("after"), ("contact", person.id))
    return render_template("crm/contact.html", contact=person, outlook_links=links, users=users, page=page)


@bp.get("/crm/companies")
def companies():
    """Companies by name."""
    page = records.companies_page(db_session(), tenant(), request.args.get("after"))
    return render_template("crm/companies.html", page=page)


@bp.get("/crm/companies/<int:company_id>")
def company(company_id: int):
    """One company: its contacts and the emails filed on it."""
    db = db_session()
    firm = found(Company.get(db, tenant(), company_id))
    people, total = records.company_contacts(db, tenant(), firm.id)
    page = records.emails_page(db, tenant(), request.args.get("after"), ("company", firm.id))
    return render_template("crm/company.html", company=firm, contacts=people, contact_total=total, page=page)


# -- cases and tasks --------------------------------------------------------------------------

@bp.get("/crm/cases")
def cases():
    """Cases, newest first."""
    page = records.cases_page(db_session(), tenant(), request.args.get("after"))
    return render_template("crm/cases.html", page=page)


@bp.get("/crm/cases/<int:case_id>")
def case(case_id: int):
    """One case: its emails, tasks and the sharing rules that file mail to it."""
    db = db_session()
    item = found(Case.get(db, tenant(), case_id))
    tasks = db.scalars(select(Task).where(Task.tenant_id == tenant(), Task.case_id == item.id)
                       .order_by(Task.done, Task.id.desc()).limit(100)).all()
    page = records.emails_page(db, tenant(), request.args.get("after"), ("case", item.id))
    rules = crm_cases.sharing_rules_of_case(db, tenant(), item)
    return render_template("crm/case.html", case=item, tasks=tasks,
                           rules=rules, rule_owners=crm_cases.users_by_id(db, tenant(), [r.user_id for r in rules]),
                           page=page)


@bp.get("/crm/tasks")
def tasks():
    """Tasks, newest first."""
    page = records.tasks_page(db_session(), tenant(), request.args.get("after"))
    return render_template("crm/tasks.html", page=page)


@bp.get("/crm/tasks/<int:task_id>")
def task(task_id: int):
    """One task: details, its case and the emails filed on it."""
    db = db_session()
    item = found(Task.get(db, tenant(), task_id))
    case_ = Case.get(db, tenant(), item.case_id) if item.case_id else None
    page = records.emails_page(db, tenant(), request.args.get("after"), ("task", item.id))
    return render_template("crm/task.html", task=item, case=case_, page=page)
