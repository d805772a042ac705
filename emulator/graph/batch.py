"""POST /$batch: up to 20 requests in one, each with its own status, headers and body.

Each inner request goes through the same faults, per-mailbox limits and
request log as a plain one (with in_batch=True), so throttling shows up per
request with Retry-After in that response's headers, as Graph does it.
`dependsOn` orders requests; one whose dependency failed answers 424.

As in Graph, the outer request's bearer token is checked first, once: a missing,
malformed, expired or revoked token answers the whole batch 401
InvalidAuthenticationToken (with WWW-Authenticate) and no inner request runs.
An "expired_token" fault rule matching any inner request does the same, counted
once for the batch. Inner requests then run as that token's caller; the outer
Prefer header applies to them too unless one sets its own.
"""

import base64
import json
import time
import uuid
from urllib.parse import parse_qsl, unquote, urlsplit

from werkzeug.datastructures import Headers, MultiDict

from emulator import tokens
from emulator.graph import access
from emulator.graph.errors import GraphError, bad_request, error_body
from emulator.graph.routing import JSON_TYPE, GraphRequest, GraphResponse, Stream, ok, route, run

MAX_REQUESTS = 20
METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


@route("POST", "/\\$batch")
def batch(req):
    """Run the inner requests in dependency order and answer all their responses."""
    caller = access.authenticate(req)  # before the body, as Graph does
    body = req.json()
    requests_ = body.get("requests")
    if not isinstance(requests_, list) or not requests_:
        raise bad_request("Invalid batch payload format: 'requests' must be a non-empty array.")
    if len(requests_) > MAX_REQUESTS:
        raise bad_request(f"Number of requests ({len(requests_)}) in the batch exceeds the limit of {MAX_REQUESTS}.")
    ids = []
    for item in requests_:
        if not isinstance(item, dict):
            raise bad_request("Invalid batch payload format: every request must be a JSON object.")
        rid = item.get("id")
        if not isinstance(rid, str) or not rid:
            raise bad_request("Invalid batch payload format: every request needs a string 'id'.")
        if rid.lower() in ids:
            raise bad_request(f"Batch request ids must be unique: '{rid}' appears more than once.")
        ids.append(rid.lower())
        if not isinstance(item.get("method"), str) or not isinstance(item.get("url"), str):
            raise bad_request(f"Invalid batch payload format: request '{rid}' needs 'method' and 'url'.")
        depends = item.get("dependsOn", [])
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise bad_request(f"Invalid batch payload format: 'dependsOn' of request '{rid}' must be an array.")
    for item in requests_:
        for dep in item.get("dependsOn", []):
            if dep.lower() not in ids or dep.lower() == item["id"].lower():
                raise bad_request(f"Request '{item['id']}' depends on unknown request '{dep}'.")

    if req.state.faults.check_batch_token(
        [(item["method"].upper(), "/v1.0" + _inner_path(item["url"])) for item in requests_]
    ):
        raise GraphError(
            401,
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
            {"WWW-Authenticate": access.WWW_AUTHENTICATE},
        )

    batch_id = str(uuid.uuid4())
    results: dict[str, dict] = {}
    pending = list(requests_)
    while pending:
        ready = [r for r in pending if all(d.lower() in results for d in r.get("dependsOn", []))]
        if not ready:
            raise bad_request("The dependsOn graph of the batch has a cycle.")
        for item in ready:
            pending.remove(item)
            failed = [d for d in item.get("dependsOn", []) if not 200 <= results[d.lower()]["status"] < 300]
            if failed:
                results[item["id"].lower()] = _failed_dependency(req, item)
            else:
                results[item["id"].lower()] = _execute(req, caller, item, batch_id)
    return ok({"responses": [results[item["id"].lower()] for item in requests_]})


def _failed_dependency(req, item) -> dict:
    return {
        "id": item["id"],
        "status": 424,
        "headers": {"Content-Type": "application/json"},
        "body": error_body("BadRequest", "Failed dependency.", str(uuid.uuid4()), req.client_request_id),
    }


def _inner_request(req, item) -> GraphRequest:
    """Build the inner GraphRequest; GraphError(400) for what Graph refuses per request."""
    url = item["url"]
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        raise bad_request("Invalid request URL: batch request URLs must be relative, like '/me/messages'.")
    method = item["method"].upper()
    if method not in METHODS:
        raise GraphError(405, "BadRequest", "Specified HTTP method is not allowed for the request target.")
    headers = Headers()
    inner_headers = item.get("headers") or {}
    if not isinstance(inner_headers, dict):
        raise bad_request("Invalid request: 'headers' must be a JSON object.")
    for name, value in inner_headers.items():
        headers.add(name, str(value))
    if "Authorization" not in headers and req.headers.get("Authorization"):
        headers["Authorization"] = req.headers["Authorization"]
    if "Prefer" not in headers:
        for value in req.headers.getlist("Prefer"):
            headers.add("Prefer", value)
    body = b""
    if "body" in item and item["body"] is not None:
        if not headers.get("Content-Type"):
            raise bad_request("Invalid request: a request with a body must specify the Content-Type header.")
        if isinstance(item["body"], (dict, list)):
            body = json.dumps(item["body"]).encode()
        elif isinstance(item["body"], str):
            body = item["body"].encode()
        else:
            raise bad_request("Invalid request: 'body' must be a JSON object or a string.")
    path = _inner_path(url)
    return GraphRequest(
        method=method,
        path=path,
        args=MultiDict(parse_qsl(parts.query, keep_blank_values=True)),
        headers=headers,
        body=body,
        state=req.state,
        in_batch=True,
        base_url=req.base_url,
        client_request_id=headers.get("client-request-id") or req.client_request_id,
    )


def _inner_path(url: str) -> str:
    """An inner request's path below /v1.0, decoded, starting with "/"."""
    return "/" + unquote(urlsplit(url).path).lstrip("/")


def _mailbox_of(state, inner: GraphRequest) -> str | None:
    """The mailbox an inner request targets (for limits and the log), like the WSGI gate's."""
    segments = inner.path.strip("/").split("/")
    key = None
    if segments and segments[0].lower() == "me":
        claims = tokens.unverified_claims(inner.headers.get("Authorization"))
        key = claims.get("oid") or claims.get("upn") or claims.get("preferred_username")
    elif segments and segments[0].lower() == "users" and len(segments) > 1:
        key = segments[1]
    elif segments and segments[0].lower().startswith("users('"):
        key = segments[0][7:].rstrip(")'")
    if not key:
        return None
    user = state.store.find_user(key)
    return (user.upn if user else key).lower()


def _execute(req, caller, item, batch_id) -> dict:
    state = req.state
    started = time.monotonic()
    try:
        inner = _inner_request(req, item)
    except GraphError as e:
        resp = GraphResponse(e.status, error_body(e.code, e.message, str(uuid.uuid4()), req.client_request_id))
        return _as_batch_response(item["id"], resp)
    if inner.headers.get("Authorization") == req.headers.get("Authorization"):
        inner.caller = caller  # verified once, for the whole batch
    if inner.path.strip("/").lower() == "$batch":
        resp = GraphResponse(
            400,
            error_body(
                "BadRequest",
                "A $batch request cannot contain another $batch.",
                inner.request_id,
                inner.client_request_id,
            ),
        )
        return _as_batch_response(item["id"], resp)
    mailbox = _mailbox_of(state, inner)
    full_path = "/v1.0" + inner.path
    fault = state.faults.acquire(mailbox)
    slot_taken = fault is None
    try:
        if fault is None:
            fault = state.faults.check(inner.method, full_path, mailbox, token_checked=inner.caller is caller)
        if fault is not None:
            status, headers, body = fault.graph_response()
            resp = GraphResponse(status, body, dict(headers))
        else:
            resp = run(inner)
    finally:
        if slot_taken:
            state.faults.release(mailbox)
    state.log.record(
        method=inner.method,
        path=full_path,
        query="&".join(f"{k}={v}" for k, v in inner.args.items(multi=True)),
        status=resp.status,
        throttled=bool(fault and fault.throttled) or resp.status == 429,
        duration_ms=(time.monotonic() - started) * 1000,
        mailbox=mailbox,
        in_batch=True,
        batch_id=batch_id,
        app_only=tokens.app_only_bearer(inner.headers.get("Authorization")),
    )
    out = _as_batch_response(item["id"], resp)
    if inner.preference_applied() and resp.status < 400:
        out["headers"]["Preference-Applied"] = inner.preference_applied()
    return out


def _as_batch_response(rid, resp: GraphResponse) -> dict:
    headers = {"Cache-Control": "private"}
    if isinstance(resp.body, dict):
        headers["OData-Version"] = "4.0"
        headers["Content-Type"] = JSON_TYPE if resp.status < 400 else "application/json"
    body = resp.body
    if isinstance(body, Stream):
        # As in Graph: a response that is not JSON comes back base64-encoded in the batch.
        headers["Content-Type"] = body.media_type
        body = base64.b64encode(b"".join(body.chunks)).decode()
    headers.update({k: str(v) for k, v in resp.headers.items()})
    out = {"id": rid, "status": resp.status, "headers": headers}
    if body is not None:
        out["body"] = body
    return out
