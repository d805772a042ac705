"""Schemas of cases, tasks, a filed email's links and notes, conversation links and
sharing rules."""

from __future__ import annotations

import marshmallow as ma

from server.crm.cases import CASE_STATUSES, PAGE_LIMIT
from server.routes.schemas.field_limits import Limited

TITLE = Limited("title", min=1)


class CaseSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String()
    status = ma.fields.String(required=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    url = ma.fields.String(required=True)


class NewCaseSchema(ma.Schema):
    title = ma.fields.String(required=True, validate=TITLE)
    description = ma.fields.String(load_default="", validate=Limited("description"))


class CaseListArgs(ma.Schema):
    q = ma.fields.String(validate=ma.validate.Length(max=200))
    status = ma.fields.String(validate=ma.validate.OneOf(CASE_STATUSES))
    before_id = ma.fields.Integer(metadata={"description": "Keyset: the last id of the previous page"})
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=PAGE_LIMIT))


class CaseListSchema(ma.Schema):
    cases = ma.fields.List(ma.fields.Nested(CaseSchema), required=True)
    next_before_id = ma.fields.Integer(allow_none=True)


class TaskSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String()
    case_id = ma.fields.Integer(allow_none=True)
    due_at = ma.fields.DateTime(allow_none=True)
    done = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    url = ma.fields.String(required=True)


class NewTaskSchema(ma.Schema):
    title = ma.fields.String(required=True, validate=TITLE)
    description = ma.fields.String(load_default="", validate=Limited("description"))
    case_id = ma.fields.Integer(allow_none=True, load_default=None)
    due_at = ma.fields.AwareDateTime(allow_none=True, load_default=None)


class TaskListArgs(ma.Schema):
    case_id = ma.fields.Integer()
    q = ma.fields.String(validate=ma.validate.Length(max=200))
    done = ma.fields.Boolean()
    before_id = ma.fields.Integer()
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=PAGE_LIMIT))


class TaskListSchema(ma.Schema):
    tasks = ma.fields.List(ma.fields.Nested(TaskSchema), required=True)
    next_before_id = ma.fields.Integer(allow_none=True)


class TargetsSchema(ma.Schema):
    """A case and/or a task, existing (`case_id`, `task_id`) or created inline
    (`new_case`, `new_task`; a new task goes on the case of this request unless it
    names its own)."""

    case_id = ma.fields.Integer(validate=ma.validate.Range(min=1))
    task_id = ma.fields.Integer(validate=ma.validate.Range(min=1))
    new_case = ma.fields.Nested(NewCaseSchema)
    new_task = ma.fields.Nested(NewTaskSchema)

    @ma.validates_schema
    def one_target(self, data, **kwargs):
        if not any(k in data for k in ("case_id", "task_id", "new_case", "new_task")):
            raise ma.ValidationError("Give case_id, task_id, new_case or new_task.")
        if "case_id" in data and "new_case" in data:
            raise ma.ValidationError("Give case_id or new_case, not both.")
        if "task_id" in data and "new_task" in data:
            raise ma.ValidationError("Give task_id or new_task, not both.")


class EmailLinkSchema(ma.Schema):
    target_type = ma.fields.String(required=True)
    target_id = ma.fields.Integer(required=True)
    source = ma.fields.String(
        required=True, metadata={"description": "address / company / manual / rule / conversation"}
    )
    title = ma.fields.String(allow_none=True, metadata={"description": "Case or task title"})
    url = ma.fields.String(allow_none=True)


class CreatedSchema(ma.Schema):
    case = ma.fields.Nested(CaseSchema)
    task = ma.fields.Nested(TaskSchema)


class EmailLinksSchema(ma.Schema):
    email_id = ma.fields.Integer(required=True)
    links = ma.fields.List(ma.fields.Nested(EmailLinkSchema), required=True)
    created = ma.fields.Nested(CreatedSchema)


class AuthorSchema(ma.Schema):
    id = ma.fields.Integer(allow_none=True)
    name = ma.fields.String()


class NoteSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    email_id = ma.fields.Integer(required=True)
    body = ma.fields.String(required=True)
    author = ma.fields.Nested(AuthorSchema, allow_none=True)
    mine = ma.fields.Boolean(metadata={"description": "Written by the caller (who may delete it)"})
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class NewNoteSchema(ma.Schema):
    body = ma.fields.String(required=True, validate=Limited("note", "body", min=1))


class NoteListSchema(ma.Schema):
    notes = ma.fields.List(ma.fields.Nested(NoteSchema), required=True)


class ConversationLinkSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    conversation_id = ma.fields.String(required=True)
    target_type = ma.fields.String(required=True)
    target_id = ma.fields.Integer(required=True)
    title = ma.fields.String(allow_none=True)
    url = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    mine = ma.fields.Boolean(metadata={"description": "The caller's own link (only that files the caller's mailbox)"})
    made_by = ma.fields.String(metadata={"description": "Who made the link (empty when that user is gone)"})


class ConversationLinksSchema(ma.Schema):
    conversation_id = ma.fields.String(allow_none=True, required=True)
    links = ma.fields.List(ma.fields.Nested(ConversationLinkSchema), required=True)
    linked_emails = ma.fields.Integer(metadata={"description": "Filed emails newly linked by this request"})
    created = ma.fields.Nested(CreatedSchema)


class SharingRuleSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    case_id = ma.fields.Integer(required=True)
    address = ma.fields.String(required=True)
    mailbox = ma.fields.String(required=True, metadata={"description": "Whose mailbox the rule files"})
    mine = ma.fields.Boolean()
    created_at = ma.fields.DateTime()


class NewSharingRuleSchema(ma.Schema):
    address = ma.fields.String(required=True, validate=Limited("email", "address", min=3))


class SharingRuleListSchema(ma.Schema):
    rules = ma.fields.List(ma.fields.Nested(SharingRuleSchema), required=True)
    warning = ma.fields.String(required=True)


class SharingRuleCreatedSchema(ma.Schema):
    rule = ma.fields.Nested(SharingRuleSchema, required=True)
    created = ma.fields.Boolean(required=True)
    warning = ma.fields.String(required=True)
