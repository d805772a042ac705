"""Microsoft Graph v1.0, the Outlook subset we use: messages, mail folders, master
categories, contacts, translateExchangeIds, $batch and subscriptions.

`bp` is registered by the app factory at url_prefix "/v1.0". Faults, throttling
and the request log wrap it at the WSGI level (emulator.gate); `$batch` applies
them to each inner request itself.
"""
import json
import logging

from flask import Blueprint, Response, current_app, request

from emulator.graph.errors import error_body
from emulator.graph.routing import JSON_TYPE, GraphRequest, GraphResponse, run

# Handler modules register their routes on import.
from emulator.graph import messages, delta, folders, categories, contacts  # noqa: E402,F401
from emulator.graph import translate_ids, subscriptions, users, batch  # noqa: E402,F401

log = logging.getLogger(__name__)
bp = Blueprint("graph", __name__)
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


@bp.route("", defaults={"path": ""}, methods=METHODS)
@bp.route("/", defaults={"path": ""}, methods=METHODS)
@bp.route("/<path:path>", methods=METHODS)
def graph(path):
    """Every Graph request: routed by emulator.graph.routing."""
    state = current_app.extensions["emulator"]
    req = GraphRequest(method=request.method, path="/" + path, args=request.args,
                       headers=request.headers, body=request.get_data(cache=True), state=state,
                       base_url=request.host_url.rstrip("/"))
    return to_flask(run(req), req)


def response_headers(resp: GraphResponse, req: GraphRequest) -> dict:
    headers = {"Cache-Control": "private", "request-id": req.request_id,
               "client-request-id": req.client_request_id,
               "x-ms-ags-diagnostic": '{"ServerInfo":{"DataCenter":"Emulator","Slice":"E","Ring":"0",'
                                      '"ScaleUnit":"000","RoleInstance":"emulator"}}'}
    if isinstance(resp.body, dict):
        headers["Content-Type"] = JSON_TYPE if resp.status < 400 else "application/json"
        headers["OData-Version"] = "4.0"
    elif isinstance(resp.body, str):
        headers["Content-Type"] = "text/plain; charset=utf-8"
    if req.wants_immutable_ids():
        headers["Preference-Applied"] = 'IdType="ImmutableId"'
    headers.update(resp.headers)
    return headers


def to_flask(resp: GraphResponse, req: GraphRequest) -> Response:
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
    from werkzeug.exceptions import HTTPException
    if isinstance(e, HTTPException):
        return e
    log.exception("Graph request failed")
    body = error_body("generalException", "General exception while processing.", "", "")
    return Response(json.dumps(body), status=500, content_type="application/json")
