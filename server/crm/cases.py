"""Cases, tasks, notes, conversation links and sharing rules.

Everything is scoped by tenant: lookups take the tenant id, and a record of another
tenant is "not found" (NoSuchRecord), never touched. Functions that write commit.
Failures are domain errors (NoSuchRecord, Invalid, Forbidden) in the API's words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, false, func, select
from sqlalchemy.orm import Session

from server.crm import audit
from server.crm.addresses import normalise_address
from server.crm.field_limits import check_length
from server.crm.filing import Link, link_email
from server.crm.models import (
    MAX_ID,
    MODEL_FOR_TARGET,
    Case,
    ConversationLink,
    Email,
    EmailLink,
    Note,
    SharingRule,
    Task,
    User,
    is_id,
)
from server.crm.upsert import insert_ignore
from server.domain_errors import Forbidden, Invalid, NotFound

CASE_STATUSES = ("open", "closed")
LINKABLE = ("case", "task")
PAGE_LIMIT = 100

SHARING_RULE_WARNING = (
    "Every new email from or to this address in your mailbox will be filed to this case "
    "automatically and be visible to everyone who can see the case. Do not create rules for "
    "addresses that send confidential or personal mail (HR, legal, medical, private); file "
    "such mail by hand instead."
)


class NoSuchRecord(NotFound):
    """No such record in this tenant (also when it is another tenant's); `kind`
    names what was looked for: case, task, email, note, conversation_link, sharing_rule."""

    def __init__(self, kind: str, record_id: int):
        super().__init__(f"That {kind.replace('_', ' ')} does not exist.", code=f"{kind}_not_found")
        self.kind = kind
        self.record_id = record_id


_KINDS = {
    Case: "case",
    Task: "task",
    Email: "email",
    Note: "note",
    ConversationLink: "conversation_link",
    SharingRule: "sharing_rule",
}


def _one(session: Session, model, tenant_id: str, record_id: int):
    record = model.get(session, tenant_id, int(record_id))
    if record is None:
        raise NoSuchRecord(_KINDS[model], record_id)
    return record


def _commit(session: Session) -> None:
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise


def _clean(text: str | None, what: str) -> str:
    """The title with its spacing tidied; raises Invalid when empty, FieldTooLong when long."""
    value = " ".join((text or "").split())
    if not value:
        raise Invalid(f"A {what} needs a title.")
    return check_length("title", value)


# -- cases and tasks --------------------------------------------------------------------


def get_case(session: Session, tenant_id: str, case_id: int) -> Case:
    """Raises NoSuchRecord when the case is not in the tenant."""
    return _one(session, Case, tenant_id, case_id)


def get_task(session: Session, tenant_id: str, task_id: int) -> Task:
    """Raises NoSuchRecord when the task is not in the tenant."""
    return _one(session, Task, tenant_id, task_id)


def list_cases(
    session: Session,
    tenant_id: str,
    *,
    query: str | None = None,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Case]:
    """The tenant's cases, newest first (keyset: pass the last id as `before_id`),
    optionally with a title containing `query` and a status."""
    stmt = select(Case).where(Case.tenant_id == tenant_id)
    if status:
        stmt = stmt.where(Case.status == status)
    if query and query.strip():
        stmt = stmt.where(func.lower(Case.title).contains(query.strip().casefold(), autoescape=True))
    if before_id is not None and before_id <= MAX_ID:  # beyond 64 bits every id is less
        stmt = stmt.where(Case.id < max(before_id, 0))
    return list(session.scalars(stmt.order_by(Case.id.desc()).limit(max(1, min(limit, PAGE_LIMIT)))))


def create_case(session: Session, tenant_id: str, user: User | None, title: str, description: str = "") -> Case:
    """Raises Invalid for an empty title, FieldTooLong for a title or description over its limit."""
    case = Case(
        tenant_id=tenant_id,
        title=_clean(title, "case"),
        description=check_length("description", description),
        status="open",
        created_by_id=user.id if user else None,
    )
    session.add(case)
    _commit(session)
    return case


def list_tasks(
    session: Session,
    tenant_id: str,
    *,
    case_id: int | None = None,
    query: str | None = None,
    done: bool | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Task]:
    """The tenant's tasks (of one case), newest first, keyset by `before_id`."""
    stmt = select(Task).where(Task.tenant_id == tenant_id)
    if case_id is not None:
        stmt = stmt.where(Task.case_id == case_id if is_id(case_id) else false())
    if done is not None:
        stmt = stmt.where(Task.done.is_(done))
    if query and query.strip():
        stmt = stmt.where(func.lower(Task.title).contains(query.strip().casefold(), autoescape=True))
    if before_id is not None and before_id <= MAX_ID:
        stmt = stmt.where(Task.id < max(before_id, 0))
    return list(session.scalars(stmt.order_by(Task.id.desc()).limit(max(1, min(limit, PAGE_LIMIT)))))


def create_task(
    session: Session,
    tenant_id: str,
    user: User | None,
    title: str,
    description: str = "",
    case_id: int | None = None,
    due_at: datetime | None = None,
) -> Task:
    """Raises Invalid for an empty title, FieldTooLong for a title or description over its
    limit, NoSuchRecord for a case not in the tenant."""
    title = _clean(title, "task")
    description = check_length("description", description)
    if case_id is not None:
        get_case(session, tenant_id, case_id)
    task = Task(
        tenant_id=tenant_id,
        title=title,
        description=description,
        case_id=case_id,
        due_at=due_at,
        created_by_id=user.id if user else None,
    )
    session.add(task)
    _commit(session)
    return task


def record_title(session: Session, tenant_id: str, target_type: str, target_id: int) -> str | None:
    """What a link shows: a case's or task's title, a contact's or company's name;
    None when the record is gone."""
    model = MODEL_FOR_TARGET.get(target_type)
    if model is None:
        return None
    record = model.get(session, tenant_id, target_id)
    if record is None:
        return None
    return record.title if target_type in LINKABLE else record.name


# -- emails on cases and tasks ------------------------------------------------------------


def get_email(session: Session, tenant_id: str, email_id: int) -> Email:
    """Raises NoSuchRecord when the email is not filed in the tenant."""
    return _one(session, Email, tenant_id, email_id)


def email_links(session: Session, tenant_id: str, email: Email) -> list[EmailLink]:
    return list(
        session.scalars(
            select(EmailLink)
            .where(EmailLink.tenant_id == tenant_id, EmailLink.email_id == email.id)
            .order_by(EmailLink.id)
        )
    )


def link_email_to(
    session: Session, tenant_id: str, user: User, email: Email, targets: Sequence[tuple[str, int]]
) -> int:
    """Links a filed email to cases/tasks by hand (source `manual`); returns how many
    links are new. Raises NoSuchRecord for a target not in the tenant, Invalid for
    one that is not a case or task."""
    for target_type, target_id in targets:
        if target_type not in LINKABLE:
            raise Invalid(f"Cannot link an email to a {target_type}.")
        _one(session, {"case": Case, "task": Task}[target_type], tenant_id, target_id)
    return link_email(session, tenant_id, email, [(t, i, "manual") for t, i in targets], user)


def unlink_email(session: Session, tenant_id: str, email: Email, target_type: str, target_id: int) -> bool:
    """Removes one link of the email (the email itself stays filed). True if it existed."""
    result = session.execute(
        delete(EmailLink).where(
            EmailLink.tenant_id == tenant_id,
            EmailLink.email_id == email.id,
            EmailLink.target_type == target_type,
            EmailLink.target_id == target_id,
        )
    )
    _commit(session)
    session.expire(email, ["links"])
    return bool(result.rowcount)


# -- notes ----------------------------------------------------------------------------


def list_notes(session: Session, tenant_id: str, email: Email) -> list[Note]:
    """Every note on a filed email: notes are shared with the whole tenant."""
    return list(
        session.scalars(select(Note).where(Note.tenant_id == tenant_id, Note.email_id == email.id).order_by(Note.id))
    )


def add_note(session: Session, tenant_id: str, user: User, email: Email, body: str) -> Note:
    """Raises Invalid for an empty note, FieldTooLong for one over its limit."""
    text = check_length("note", (body or "").strip(), "body")
    if not text:
        raise Invalid("A note needs some text.")
    note = Note(tenant_id=tenant_id, email_id=email.id, author_id=user.id, body=text)
    session.add(note)
    _commit(session)
    return note


def delete_note(session: Session, tenant_id: str, user: User, note_id: int) -> None:
    """Only its author deletes a note. Raises NoSuchRecord (not in the tenant) or
    Forbidden (someone else's note)."""
    note = _one(session, Note, tenant_id, note_id)
    if note.author_id != user.id:
        raise Forbidden("Only the author can delete a note.")
    session.delete(note)
    _commit(session)


# -- conversations ----------------------------------------------------------------------


def link_conversation(
    session: Session, tenant_id: str, user: User, conversation_id: str, target_type: str, target_id: int
) -> tuple[ConversationLink, int]:
    """The user's own link of a conversation to a case or task: every message of it
    already in the CRM is linked now (source `conversation`), and automatic sync files
    the conversation's new messages of THIS user's mailbox there
    (`conversation_links_for`), never a colleague's: a colleague makes their own link.
    Returns (link, emails newly linked). Raises Invalid without a conversation id,
    NoSuchRecord for a target not in the tenant."""
    if not conversation_id:
        raise Invalid("This email has no conversation.")
    if target_type not in LINKABLE:
        raise Invalid(f"Cannot link a conversation to a {target_type}.")
    _one(session, {"case": Case, "task": Task}[target_type], tenant_id, target_id)
    key = {
        "tenant_id": tenant_id,
        "conversation_id": conversation_id,
        "created_by_id": user.id,
        "target_type": target_type,
        "target_id": int(target_id),
    }
    try:
        created = insert_ignore(session, ConversationLink, key, list(key))
        link = session.scalar(
            select(ConversationLink).where(*(getattr(ConversationLink, name) == value for name, value in key.items()))
        )
        if created:
            audit.record(
                session,
                tenant_id,
                user,
                audit.CONVERSATION_LINK_CREATED,
                target=("conversation_link", link.id),
                after=_link_fields(link),
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    added = 0
    for email in conversation_emails(session, tenant_id, conversation_id):
        added += link_email(session, tenant_id, email, [(target_type, int(target_id), "conversation")], user)
    return link, added


def conversation_emails(session: Session, tenant_id: str, conversation_id: str) -> list[Email]:
    return list(
        session.scalars(
            select(Email)
            .where(Email.tenant_id == tenant_id, Email.conversation_id == conversation_id)
            .order_by(Email.id)
        )
    )


def conversation_links_for(session: Session, tenant_id: str, conversation_id: str | None, made_by: int) -> list[Link]:
    """The links a newly filed message of this conversation gets in the mailbox of user
    `made_by`, as (target_type, target_id, "conversation"): that user's own links only."""
    return [
        (link.target_type, link.target_id, "conversation")
        for link in ConversationLink.made_by(session, tenant_id, made_by, conversation_id)
    ]


def unlink_conversation(session: Session, tenant_id: str, user: User, link_id: int) -> None:
    """Stops linking future messages; what was already filed keeps its links. Only the
    link's maker removes it (a link whose maker is gone files nothing, and anyone may
    clear it away). Raises NoSuchRecord, Forbidden."""
    link = _one(session, ConversationLink, tenant_id, link_id)
    if link.created_by_id is not None and link.created_by_id != user.id:
        raise Forbidden("Only the person who linked this conversation can stop that link.")
    audit.record(
        session,
        tenant_id,
        user,
        audit.CONVERSATION_LINK_DELETED,
        target=("conversation_link", link.id),
        before=_link_fields(link),
    )
    session.delete(link)
    _commit(session)


def _link_fields(link: ConversationLink) -> dict:
    """A conversation link as the audit log keeps it."""
    return {
        "conversation_id": link.conversation_id,
        "target_type": link.target_type,
        "target_id": link.target_id,
        "created_by_id": link.created_by_id,
    }


# -- sharing rules --------------------------------------------------------------------


def sharing_rules_of_case(session: Session, tenant_id: str, case: Case) -> list[SharingRule]:
    """Every mailbox's rules on a case: visible to everyone who can see the case."""
    return list(
        session.scalars(
            select(SharingRule)
            .where(SharingRule.tenant_id == tenant_id, SharingRule.case_id == case.id)
            .order_by(SharingRule.id)
        )
    )


def add_sharing_rule(
    session: Session, tenant_id: str, user: User, case: Case, address: str
) -> tuple[SharingRule, bool]:
    """A rule for the user's own mailbox: new mail from/to `address` is filed to the
    case. Returns (rule, created). Raises Invalid for a malformed address or the
    user's own address."""
    normalised = normalise_address(address)
    if normalised is None:
        raise Invalid("Not an email address.")
    if normalised in user.own_addresses():
        raise Invalid("A rule on your own address would file all your mail.")
    try:
        created = insert_ignore(
            session,
            SharingRule,
            {
                "tenant_id": tenant_id,
                "user_id": user.id,
                "case_id": case.id,
                "address": normalised,
                "created_by_id": user.id,
            },
            ["user_id", "case_id", "address"],
        )
        rule = session.scalar(
            select(SharingRule).where(
                SharingRule.user_id == user.id, SharingRule.case_id == case.id, SharingRule.address == normalised
            )
        )
        if created:
            audit.record(
                session,
                tenant_id,
                user,
                audit.SHARING_RULE_CREATED,
                target=("sharing_rule", rule.id),
                after=_rule_fields(rule),
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return rule, created


def delete_sharing_rule(session: Session, tenant_id: str, user: User, case: Case, rule_id: int) -> None:
    """Only the mailbox owner removes their rule. Raises NoSuchRecord, Forbidden."""
    rule = _one(session, SharingRule, tenant_id, rule_id)
    if rule.case_id != case.id:
        raise NoSuchRecord("sharing_rule", rule_id)
    if rule.user_id != user.id:
        raise Forbidden("Only the mailbox owner can remove their rule.")
    audit.record(
        session,
        tenant_id,
        user,
        audit.SHARING_RULE_DELETED,
        target=("sharing_rule", rule.id),
        before=_rule_fields(rule),
    )
    session.delete(rule)
    _commit(session)


def _rule_fields(rule: SharingRule) -> dict:
    """A sharing rule as the audit log keeps it."""
    return {"case_id": rule.case_id, "address": rule.address, "user_id": rule.user_id}


def users_by_id(session: Session, tenant_id: str, ids: Iterable[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.tenant_id == tenant_id, User.id.in_(wanted)))}
