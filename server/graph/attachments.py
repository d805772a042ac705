"""A message's attachments on Graph: their metadata, and their raw contents as a stream.

Metadata never carries `contentBytes`: `$select` names the base properties only (the
`@odata.type` that says the kind always comes along). The contents come from
`/attachments/{id}/$value` (a file's bytes, an item attachment's MIME), read with
`stream=True` a chunk at a time, so a 150 MB file is never held in memory. The retry
policy (transport.py) covers the request until its headers; a body that breaks off
later, or ends short of its Content-Length, raises `DownloadInterrupted`.

A reference attachment (a OneDrive or SharePoint link) has no `$value` (Graph answers
405) and, in v1.0, no URL either: it is a link to the message in Outlook.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterable, Iterator
from urllib.parse import quote

from .batch import BatchOperations, BatchRequest
from .errors import GraphError, Unavailable
from .odata import query_string, response_json, select_fields
from .wire import WireError, WireResponse

log = logging.getLogger(__name__)

# contentId is a fileAttachment's own property: on the base attachment type Graph
# refuses a plain `contentId` in $select (400 "Could not find a property named
# 'contentId' on type 'microsoft.graph.attachment'"), so it is selected with OData's
# type cast. The emulator refuses the plain form the same way.
CONTENT_ID = "microsoft.graph.fileAttachment/contentId"
ATTACHMENT_FIELDS = ("id", "name", "contentType", "size", "isInline", "lastModifiedDateTime", CONTENT_ID)
# In a message read's $expand (one request gives the message and its attachments' metadata).
ATTACHMENT_EXPAND = f"attachments($select=id,name,contentType,size,isInline,{CONTENT_ID})"
DOWNLOAD_CHUNK = 256 * 1024
KINDS = {
    "#microsoft.graph.fileattachment": "file",
    "#microsoft.graph.itemattachment": "item",
    "#microsoft.graph.referenceattachment": "reference",
}


class DownloadInterrupted(Unavailable):
    """The contents stopped coming half-way (connection cut, read timeout, short body).
    Transient: the download may be repeated from the start."""

    def __init__(self, message: str):
        super().__init__(None, "DownloadInterrupted", message)


def attachment_kind(attachment: dict) -> str:
    """ "file", "item" or "reference", from the attachment's `@odata.type`."""
    return KINDS.get(str(attachment.get("@odata.type") or "").lower(), "file")


class AttachmentOperations(BatchOperations):
    """A message's attachments."""

    def _attachments(self, message_id: str) -> str:
        return self._item("messages", message_id) + "/attachments"

    def list_attachments(self, message_id: str, select=ATTACHMENT_FIELDS) -> list[dict]:
        """The message's attachments, metadata only (no contentBytes). One request."""
        path = self._attachments(message_id) + query_string({"$select": select_fields(select)})
        return list((self._call("GET", path) or {}).get("value") or ())

    def attachment_content(
        self, message_id: str, attachment_id: str, chunk_size: int = DOWNLOAD_CHUNK
    ) -> Iterator[bytes]:
        """The attachment's raw contents, a chunk at a time (one `$value` request, sent
        when the iterator is first advanced). Raises GraphError: NotFound, Throttled or
        Unavailable past the retry budget at the start; DownloadInterrupted half-way.
        Closing the iterator early closes the connection."""
        path = f"{self._attachments(message_id)}/{quote(str(attachment_id), safe='=')}/$value"
        response = self.transport.request("GET", self._url(path), stream=True, headers={"Accept": "*/*"})
        expected = _content_length(response)
        received = 0
        try:
            try:
                for chunk in response.iter_content(chunk_size):
                    received += len(chunk)
                    yield chunk
            except WireError as exc:
                log.warning("graph attachment %s: broke off after %d bytes: %r", attachment_id, received, exc)
                raise DownloadInterrupted(
                    f"The attachment's download broke off after {received} of {expected or '?'} bytes "
                    f"({type(exc).__name__})"
                ) from exc
            if expected is not None and received != expected:
                raise DownloadInterrupted(f"The attachment's download ended after {received} of {expected} bytes")
        finally:
            response.close()

    def small_attachment_contents(
        self, message_id: str, attachment_ids: Iterable[str]
    ) -> dict[str, bytes | GraphError]:
        """Several small attachments' raw contents in `$batch` calls (20 per call): id ->
        bytes or the GraphError of that part. Graph answers each body base64-encoded
        inside one JSON document, so the whole batch is in memory at once: for small
        files only (the caller bounds their total). Raises GraphError when a `$batch`
        call itself fails."""
        ids = list(dict.fromkeys(attachment_ids))
        responses = self.batch(
            [
                BatchRequest(
                    str(n),
                    "GET",
                    f"{self._attachments(message_id)}/{quote(str(i), safe='=')}/$value",
                    headers={"Accept": "*/*"},
                )
                for n, i in enumerate(ids)
            ]
        )
        out: dict[str, bytes | GraphError] = {}
        for attachment_id, response in zip(ids, responses):
            if not response.ok:
                out[attachment_id] = response.error()
                continue
            try:
                out[attachment_id] = base64.b64decode(response.body or "", validate=True)
            except (binascii.Error, TypeError, ValueError):
                out[attachment_id] = Unavailable(None, "BadBatchBody", "A $batch part's body was not base64")
        return out

    def attachment_json(self, message_id: str, attachment_id: str, expand_item: bool = False) -> dict:
        """One attachment's JSON (for a file, with contentBytes: small files only)."""
        path = f"{self._attachments(message_id)}/{quote(str(attachment_id), safe='=')}" + query_string(
            {"$expand": "microsoft.graph.itemattachment/item" if expand_item else None}
        )
        return response_json(self.transport.request("GET", self._url(path)))


def _content_length(response: WireResponse) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
