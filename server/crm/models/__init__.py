"""The CRM's tables, SQLAlchemy 2.0 typed models, one module per aggregate; no Flask here.

Import them from here (`from server.crm.models import Contact`): this package loads
every table, so the metadata Alembic and create_all see is always complete.

- base             Base, TimestampMixin, constraint names, is_id
- tenancy          Tenant, User and their settings
- address_book     Company, Contact, ContactEmail
- contact_history  ContactChange (what changed a contact, who, when)
- audit_log        AuditEntry (the audit log: who did what, when, before and after)
- outlook_pairing  OutlookContactLink, OutlookContactReservation
- casework         Case, Task, SharingRule
- link_targets     what an email can be filed on (TARGET_TYPES, MODEL_FOR_TARGET)
- filed_mail       Email, MailboxItem, EmailLink, Note, ConversationLink, subject_key
- sync_state       SyncCursor, Subscription, MessageChange, SyncJob
- page_sessions    PageSession (the CRM pages' sign-in sessions, kept server-side)
- attachments      EmailAttachment, AttachmentBlob, AttachmentChunk (filed email's files)
"""

from server.crm.models.address_book import Company, Contact, ContactEmail, company_name_key
from server.crm.models.attachments import (
    ATTACHMENT_KINDS,
    ATTACHMENT_STATES,
    AttachmentBlob,
    AttachmentChunk,
    EmailAttachment,
)
from server.crm.models.audit_log import AuditEntry
from server.crm.models.base import MAX_ID, NAMING_CONVENTION, Base, TimestampMixin, is_id
from server.crm.models.casework import Case, SharingRule, Task
from server.crm.models.contact_history import CHANGE_SOURCES, ContactChange
from server.crm.models.filed_mail import (
    LINK_SOURCES,
    MAILBOX_STATES,
    SUBJECT_KEY_LENGTH,
    ConversationLink,
    Email,
    EmailLink,
    ItemState,
    MailboxItem,
    Note,
    subject_key,
)
from server.crm.models.link_targets import MODEL_FOR_TARGET, TARGET_TYPES
from server.crm.models.outlook_pairing import OutlookContactLink, OutlookContactReservation
from server.crm.models.page_sessions import PageSession
from server.crm.models.sync_state import JOB_STATES, MessageChange, Subscription, SyncCursor, SyncJob
from server.crm.models.tenancy import (
    AUTO_SYNC_MODES,
    COMPOSE_DEFAULTS,
    DEFAULT_SETTINGS,
    PAGE_LANGUAGES,
    Tenant,
    User,
    is_time_zone,
    validate_settings,
)

__all__ = [
    "ATTACHMENT_KINDS",
    "ATTACHMENT_STATES",
    "AttachmentBlob",
    "AttachmentChunk",
    "EmailAttachment",
    "AUTO_SYNC_MODES",
    "COMPOSE_DEFAULTS",
    "PAGE_LANGUAGES",
    "is_time_zone",
    "CHANGE_SOURCES",
    "DEFAULT_SETTINGS",
    "JOB_STATES",
    "LINK_SOURCES",
    "MAILBOX_STATES",
    "MAX_ID",
    "MODEL_FOR_TARGET",
    "NAMING_CONVENTION",
    "SUBJECT_KEY_LENGTH",
    "TARGET_TYPES",
    "AuditEntry",
    "Base",
    "Case",
    "PageSession",
    "Company",
    "Contact",
    "ContactChange",
    "ContactEmail",
    "ConversationLink",
    "Email",
    "EmailLink",
    "ItemState",
    "MailboxItem",
    "MessageChange",
    "Note",
    "OutlookContactLink",
    "OutlookContactReservation",
    "SharingRule",
    "Subscription",
    "SyncCursor",
    "SyncJob",
    "Task",
    "Tenant",
    "TimestampMixin",
    "User",
    "company_name_key",
    "is_id",
    "subject_key",
    "validate_settings",
]
