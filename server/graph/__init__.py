"""Microsoft Graph: the only code in the backend that speaks HTTP to Graph.

It knows Graph's URLs, headers, paging, `$batch`, delta and error bodies, and nothing
of the CRM.

Transport decision: one `requests`-based transport (`transport.py`) with one retry
policy, not O365. O365 2.1.10 has no `$batch`, no message delta and no way to write
extended properties on received mail, so it cannot be the one transport, and a second
transport beside it would mean two retry policies and two places that know Graph. With
`requests` every call gets `Prefer: IdType="ImmutableId"`, `(connect, read)` timeouts,
and the same bounded, Retry-After-honouring retries.

    from server.graph import GraphClient, errors, properties
"""

from . import errors, properties
from .attachments import ATTACHMENT_FIELDS, DownloadInterrupted, attachment_kind
from .batch import BATCH_LIMIT, BatchRequest, BatchResponse
from .client import GraphClient
from .contacts import CONTACT_FIELDS
from .errors import (
    AccessDenied,
    BadRequest,
    Conflict,
    DeltaExpired,
    GraphError,
    GraphTimeout,
    NotFound,
    Throttled,
    Unauthorized,
    Unavailable,
)
from .messages import MESSAGE_FIELDS, MESSAGE_FIELDS_WITH_BODY, DeltaPage
from .properties import merge_categories
from .transport import Transport

__all__ = [
    "GraphClient",
    "ATTACHMENT_FIELDS",
    "DownloadInterrupted",
    "attachment_kind",
    "BatchRequest",
    "BatchResponse",
    "DeltaPage",
    "Transport",
    "MESSAGE_FIELDS",
    "MESSAGE_FIELDS_WITH_BODY",
    "CONTACT_FIELDS",
    "BATCH_LIMIT",
    "GraphError",
    "NotFound",
    "AccessDenied",
    "Unauthorized",
    "BadRequest",
    "Conflict",
    "DeltaExpired",
    "Throttled",
    "Unavailable",
    "GraphTimeout",
    "errors",
    "properties",
    "merge_categories",
]
