"""Microsoft Graph v1.0, the Outlook subset we use.

`bp` is registered by the app factory at url_prefix "/v1.0". Faults, throttling
and the request log wrap it at the WSGI level (emulator.gate); `$batch` applies
them to each inner request itself. Every path works as /me/... and as
/users/{id|upn}/...; segments are case-insensitive and keys may be written
`mailFolders('Inbox')`, as in Graph.

| module | requests |
| --- | --- |
| messages | GET messages, mailFolders/{id}/messages ($select $top $skip $filter $orderby $expand $count $search); GET/PATCH/DELETE messages/{id}; POST messages/{id}/move |
| attachments | GET messages/{id}/attachments ($select $top $skip), GET messages/{id}/attachments/{id} ($select, $expand=microsoft.graph.itemattachment/item), GET .../attachments/{id}/$value (streamed; 405 for a reference attachment) |
| delta | GET mailFolders/{id}/messages/delta (Prefer: odata.maxpagesize, $select, $filter=receivedDateTime ge/gt, changeType; 410 SyncStateNotFound) |
| folders | GET/POST mailFolders, GET mailFolders/{id or well-known name}, GET/POST .../childFolders |
| categories | GET/POST outlook/masterCategories, GET/PATCH/DELETE outlook/masterCategories/{id} (409 on a duplicate name) |
| contacts | GET/POST contacts, GET/PATCH/DELETE contacts/{id} |
| translate_ids | POST translateExchangeIds (restId, restImmutableEntryId, ewsId, entryId, immutableEntryId) |
| users | GET /me, GET /users/{id} |
| mailbox_settings | GET/PATCH mailboxSettings, GET mailboxSettings/timeZone (also dateFormat, timeFormat) |
| subscriptions | POST/GET /subscriptions, GET/PATCH/DELETE /subscriptions/{id}, POST .../reauthorize; webhooks via emulator.notifications |
| batch | POST /$batch (20 requests, dependsOn, per-request faults and log rows) |

Ids follow `Prefer: IdType="ImmutableId"` everywhere; permissions and mailbox
access are checked in `access`; errors use Graph's body (`errors`).

Known differences from Graph, on purpose: webhook URLs may be plain http on
localhost and their TLS certificates are not verified (a local backend);
translateExchangeIds knows messages and contacts only; notifications carry no
resource data (includeResourceData is refused without a certificate, as in
Graph, and encryption is not emulated).
"""

import json
import logging

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

# Handler modules register their routes on import.
from emulator.graph import (  # noqa: F401
    attachments,
    batch,
    categories,
    contacts,
    delta,
    folders,
    mailbox_settings,
    messages,
    subscriptions,
    translate_ids,
    users,
)
from emulator.graph.errors import error_body
from emulator.graph.routing import JSON_TYPE, GraphRequest, GraphResponse, Stream, run

log = logging.getLogger(__name__)
bp = Blueprint("graph", __name__)
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


@bp.route("", defaults={"path": ""}, methods=METHODS)
@bp.route("/", defaults={"path": ""}, methods=METHODS)
@bp.route("/<path:path>", methods=METHODS)
def graph(path):
    """Every Graph request: routed by emulator.graph.routing."""
    state = current_app.extensions["emulator"]
    req = GraphRequest(
        method=request.method,
        path="/" + path,
        args=request.args,
        headers=request.headers,
        body=request.get_data(cache=True),
        state=state,
        base_url=request.host_url.rstrip("/"),
    )
    return to_flask(run(req), req)


def response_headers(resp: GraphResponse, req: GraphRequest) -> dict:
    headers = {
        "Cache-Control": "private",
        "request-id": req.request_id,
        "client-request-id": req.client_request_id,
        "x-ms-ags-diagnostic": '{"ServerInfo":{"DataCenter":"Emulator","Slice":"E","Ring":"0",'
        '"ScaleUnit":"000","RoleInstance":"emulator"}}',
    }
    if isinstance(resp.body, dict):
        headers["Content-Type"] = JSON_TYPE if resp.status < 400 else "application/json"
        headers["OData-Version"] = "4.0"
    elif isinstance(resp.body, str):
        headers["Content-Type"] = "text/plain; charset=utf-8"
    if req.preference_applied():
        headers["Preference-Applied"] = req.preference_applied()
    headers.update(resp.headers)
    return headers


def to_flask(resp: GraphResponse, req: GraphRequest) -> Response:
    if isinstance(resp.body, Stream):
        # Streamed as it is generated: a 150 MB attachment never sits in memory. The
        # gate sees "emulator.stream" and passes the body through instead of draining it.
        request.environ["emulator.stream"] = True
        request.environ["emulator.length"] = resp.body.length
        headers = response_headers(resp, req)
        headers["Content-Type"] = resp.body.media_type
        headers["Content-Length"] = str(resp.body.length)
        return Response(resp.body.chunks, status=resp.status, headers=headers, direct_passthrough=True)
    if isinstance(resp.body, dict):
        data = json.dumps(resp.body, ensure_ascii=False).encode("utf-8")
    elif isinstance(resp.body, str):
        data = resp.body.encode("utf-8")
    else:
        data = b""
    return Response(data, status=resp.status, headers=response_headers(resp, req))


@bp.errorhandler(Exception)
def unexpected(e):
    """Last line: anything that escaped the view still answers Graph's 500 body."""
    if isinstance(e, HTTPException):
        return e
    log.exception("Graph request failed")
    body = error_body("generalException", "General exception while processing.", "", "")
    return Response(json.dumps(body), status=500, content_type="application/json")
