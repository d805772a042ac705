"""Mail messages on Graph: read one or many, mark them (categories and our extended
properties), list a folder page by page, and follow its delta."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from . import properties as props
from .attachments import ATTACHMENT_EXPAND
from .batch import BatchOperations, BatchRequest
from .errors import GraphError
from .odata import iso_datetime, query_string, select_fields

MESSAGE_FIELDS = (
    "id",
    "subject",
    "from",
    "sender",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "receivedDateTime",
    "sentDateTime",
    "internetMessageId",
    "conversationId",
    "categories",
    "bodyPreview",
    "hasAttachments",
    "isRead",
    "isDraft",
    "parentFolderId",
    "webLink",
)
MESSAGE_FIELDS_WITH_BODY = MESSAGE_FIELDS + ("body",)
MESSAGE_PROPERTIES = props.expand_filter(props.SYNC_STATE, props.EMAIL_ID)
# Attachment metadata only (kind, name, type, size, inline, content id), never the
# content bytes: those are streamed from $value (attachments.py).
ATTACHMENT_METADATA = "," + ATTACHMENT_EXPAND


@dataclass
class MessagePage:
    """One page of a message list; `count` only when asked for (first page)."""

    messages: list[dict]
    count: int | None
    next_link: str | None


@dataclass
class DeltaPage:
    """One page of a delta round. Persist `delta_link` only after processing the page."""

    messages: list[dict]
    removed: list[dict]
    next_link: str | None
    delta_link: str | None


def message_with_crm(message: dict, custom_properties_id: str | None = None) -> dict:
    """The message plus "crm": {"state", "email_id"}, from our extended properties,
    and with `custom_properties_id` "custom": the add-in's custom properties (a dict,
    {} when the message has none)."""
    message = dict(message)
    message["crm"] = {
        "state": props.property_value(message, props.SYNC_STATE),
        "email_id": props.property_value(message, props.EMAIL_ID),
    }
    if custom_properties_id:
        message["crm"]["custom"] = props.custom_properties(message, custom_properties_id)
    return message


class MessageOperations(BatchOperations):
    """The mailbox's messages. `custom_properties_id` (the add-in's custom properties,
    `props.custom_properties_id`) is read along with our own properties when set."""

    custom_properties_id: str | None = None

    def _message_path(self, message_id: str, select, expand_attachments: bool = False) -> str:
        ours = (props.SYNC_STATE, props.EMAIL_ID)
        expand = (
            props.expand_filter(*ours, self.custom_properties_id) if self.custom_properties_id else MESSAGE_PROPERTIES
        ) + (ATTACHMENT_METADATA if expand_attachments else "")
        return self._item("messages", message_id) + query_string({"$select": select_fields(select), "$expand": expand})

    def _with_crm(self, message: dict) -> dict:
        return message_with_crm(message, self.custom_properties_id)

    def get_message(self, message_id: str, select=MESSAGE_FIELDS, expand_attachments: bool = False) -> dict:
        """The message with our extended properties, plus
        `"crm": {"state": str|None, "email_id": str|None, "custom": dict}`; with
        `expand_attachments`, also attachment metadata (no content) in the same request.
        Raises NotFound etc."""
        return self._with_crm(self._call("GET", self._message_path(message_id, select, expand_attachments)))

    def get_messages(
        self, ids: Iterable[str], select=MESSAGE_FIELDS, expand_attachments: bool = False
    ) -> dict[str, dict | GraphError]:
        """Several messages via `$batch` (20 per call): id -> message dict (as
        `get_message`) or the GraphError for that id."""
        ids = list(dict.fromkeys(ids))
        responses = self.batch(
            [BatchRequest(str(n), "GET", self._message_path(i, select, expand_attachments)) for n, i in enumerate(ids)]
        )
        return {i: (self._with_crm(r.body) if r.ok else r.error()) for i, r in zip(ids, responses)}

    def _message_patch(self, categories, properties) -> dict:
        body: dict = {}
        if categories is not None:
            body["categories"] = list(categories)
        if properties:
            body["singleValueExtendedProperties"] = props.extended_properties(properties)
        return body

    def update_message(
        self,
        message_id: str,
        categories: Sequence[str] | None = None,
        properties: Mapping[str, str | None] | None = None,
        *,
        if_match: str | None = None,
    ) -> None:
        """One PATCH: the full new `categories` list (see `merge_categories`) and/or
        extended properties {property id: value}. With `if_match` (the `@odata.etag` of
        the read the new list was computed from) the PATCH is conditional: Graph answers
        412, raised as PreconditionFailed, when the message changed since that read, and
        changes nothing."""
        body = self._message_patch(categories, properties)
        if body:
            headers = {"If-Match": if_match} if if_match else None
            self._call("PATCH", self._item("messages", message_id), json_body=body, headers=headers)

    def update_messages(self, updates: Mapping[str, tuple]) -> dict[str, GraphError | None]:
        """{id: (categories, properties)} as PATCHes in `$batch` calls: id -> None
        (done) or the GraphError for that id."""
        ids = list(updates)
        responses = self.batch(
            [
                BatchRequest(str(n), "PATCH", self._item("messages", i), body=self._message_patch(*updates[i]))
                for n, i in enumerate(ids)
            ]
        )
        return {i: r.error() for i, r in zip(ids, responses)}

    def _folder(self, folder: str | None) -> str:
        if folder is None:
            return self.root
        return f"{self.root}/mailFolders/{quote(str(folder), safe='=')}"

    def _pages(self, url: str, prefer: str) -> Iterator[dict]:
        while url:
            page = self._call("GET", url, prefer=prefer)
            yield page
            url = page.get("@odata.nextLink")

    def list_messages(
        self,
        folder: str | None,
        *,
        select=MESSAGE_FIELDS,
        filter: str | None = None,
        order_by: str | None = None,
        page_size: int = 50,
        crm: bool = False,
    ) -> Iterator[dict]:
        """Messages of a folder (all mail when folder is None), page by page via
        @odata.nextLink; with `crm=True` each carries our properties and "crm"."""
        path = f"{self._folder(folder)}/messages" + query_string(
            {
                "$select": select_fields(select),
                "$filter": filter,
                "$orderby": order_by,
                "$expand": MESSAGE_PROPERTIES if crm else None,
            }
        )
        for page in self._pages(path, f"odata.maxpagesize={int(page_size)}"):
            for message in page.get("value") or ():
                yield message_with_crm(message) if crm else message

    def message_pages(
        self,
        folder: str | None,
        *,
        select=MESSAGE_FIELDS,
        filter: str | None = None,
        order_by: str | None = None,
        page_size: int = 50,
        crm: bool = False,
        expand_attachments: bool = False,
        count: bool = False,
    ) -> Iterator[MessagePage]:
        """`list_messages` a page at a time, for callers that persist where they are
        (bulk sync). With `count`, the first page carries Graph's `@odata.count`."""
        expand = (
            ",".join(
                filter_
                for filter_ in (
                    MESSAGE_PROPERTIES if crm else None,
                    ATTACHMENT_METADATA.lstrip(",") if expand_attachments else None,
                )
                if filter_
            )
            or None
        )
        path = f"{self._folder(folder)}/messages" + query_string(
            {
                "$select": select_fields(select),
                "$filter": filter,
                "$orderby": order_by,
                "$expand": expand,
                "$count": "true" if count else None,
            }
        )
        for page in self._pages(path, f"odata.maxpagesize={int(page_size)}"):
            messages = [message_with_crm(m) if crm else m for m in page.get("value") or ()]
            yield MessagePage(messages, page.get("@odata.count"), page.get("@odata.nextLink"))

    def delta(
        self,
        folder: str,
        *,
        delta_link: str | None = None,
        select=MESSAGE_FIELDS,
        page_size: int = 50,
        since=None,
        crm: bool = False,
    ) -> Iterator[DeltaPage]:
        """A delta round over a folder: pages until one carries `delta_link`.

        Starts from `delta_link` when given, else from scratch (received since
        `since` when given); with `crm=True` messages carry our properties and "crm"
        (the links keep the expansion). Raises DeltaExpired when Graph no longer
        knows the token: start again without it.
        """
        if delta_link:
            url = delta_link
        else:
            url = f"{self._folder(folder)}/messages/delta" + query_string(
                {
                    "$select": select_fields(select),
                    "$expand": MESSAGE_PROPERTIES if crm else None,
                    "$filter": f"receivedDateTime ge {iso_datetime(since)}" if since else None,
                }
            )
        prefer = f"odata.maxpagesize={int(page_size)}"
        while url:
            page = self._call("GET", url, prefer=prefer)
            items = page.get("value") or []
            next_link = page.get("@odata.nextLink")
            yield DeltaPage(
                messages=[message_with_crm(m) if crm else m for m in items if "@removed" not in m],
                removed=[m for m in items if "@removed" in m],
                next_link=next_link,
                delta_link=page.get("@odata.deltaLink"),
            )
            url = next_link
