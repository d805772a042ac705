"""The authorize endpoint: a sign-in page where you pick a seeded user.

Like Entra, a bad client id or redirect URI is shown on the page (never
redirected to), and every later error goes back to the redirect URI with
`error`, `error_description` and `state`. No password: this is a dev tool.
"""

from urllib.parse import urlencode, urlsplit

from flask import Blueprint, current_app, redirect, render_template_string, request

from emulator.oauth import OAuthError, find_app, granted_delegated, parse_scopes, tenant_or_error

bp = Blueprint("signin", __name__)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title>
<style>
 body{font-family:"Segoe UI",sans-serif;background:#f2f2f2;margin:0}
 main{background:#fff;max-width:420px;margin:8vh auto;padding:32px 40px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
 h1{font-size:24px;font-weight:600} .app{color:#555} .err{color:#a80000}
 button{display:block;width:100%;text-align:left;margin:6px 0;padding:10px;border:1px solid #ccc;background:#fff;cursor:pointer}
 button:hover,button.hint{border-color:#0067b8} small{color:#666}
</style></head><body><main>
{% if notice %}<h1>Signed out</h1><p id="notice">{{ notice }}</p>{% else %}
<h1>{{ "Sign in" if not error else "Sorry, but we're having trouble signing you in." }}</h1>
{% if error %}<p class="err" id="error">{{ error }}</p>{% else %}
<p class="app">to continue to <b>{{ app_name }}</b> (Microsoft 365 emulator)</p>
<form method="post" action="{{ action }}">
{% for user in users %}
 <button name="oid" value="{{ user.oid }}" data-upn="{{ user.upn }}" class="{{ 'hint' if user.upn|lower == hint else '' }}">
  {{ user.display_name }}<br><small>{{ user.upn }}</small></button>
{% endfor %}
</form>{% endif %}{% endif %}
</main></body></html>"""

FORM_POST = """<!doctype html><html><head><title>Working...</title></head>
<body onload="document.forms[0].submit()"><form method="post" action="{{ uri }}">
{% for k, v in params.items() %}<input type="hidden" name="{{ k }}" value="{{ v }}">{% endfor %}
<noscript><button>Continue</button></noscript></form></body></html>"""


def _state():
    return current_app.extensions["emulator"]


class _PageError(Exception):
    """An error shown on the sign-in page itself (no trusted redirect URI yet)."""

    def __init__(self, error: OAuthError):
        self.error = error


@bp.route("/<tenant>/oauth2/v2.0/authorize", methods=["GET", "POST"])
@bp.route("/<tenant>/oauth2/authorize", methods=["GET", "POST"])
def authorize(tenant):
    """Sign-in page (GET) and the user's choice (POST), answered with a code."""
    params = request.values.to_dict()
    try:
        flow = _validate_client(tenant, params)
    except _PageError as e:
        return _page(error=f"AADSTS{e.error.code}: {e.error.message}"), 400
    try:
        _validate_request(params)
        user = _chosen_user(flow, params)
        if user is None:
            return _page(
                app_name=flow["app"].display_name,
                users=flow["users"],
                hint=(params.get("login_hint") or "").lower(),
                action=request.full_path if request.method == "GET" else request.url,
            )
        granted_delegated(flow["app"], user.tid, parse_scopes(params.get("scope"), _state().store))
    except OAuthError as e:
        if e.code == 65001:
            e.error = "consent_required"
        return _answer(flow, params, e.redirect_params())
    code = _state().grants.issue_code(
        client_id=flow["app"].client_id,
        redirect_uri=flow["redirect_uri"],
        oid=user.oid,
        scope=params.get("scope", ""),
        nonce=params.get("nonce"),
        code_challenge=params.get("code_challenge"),
        code_challenge_method=params.get("code_challenge_method") or "plain",
    )
    return _answer(flow, params, {"code": code, "session_state": user.oid})


@bp.get("/<tenant>/oauth2/v2.0/logout")
@bp.get("/<tenant>/oauth2/logout")
def logout(tenant):
    """Sign-out: back to post_logout_redirect_uri when an app registered it, else a notice."""
    target = request.args.get("post_logout_redirect_uri")
    registered = {uri for app in _state().store.apps.values() for uri in app.redirect_uris}
    if target and _origin(target) in {_origin(uri) for uri in registered}:
        state = request.args.get("state")
        return redirect(target + (("&" if "?" in target else "?") + urlencode({"state": state}) if state else ""))
    return _page(notice="You signed out of your account. It's a good idea to close all browser windows.")


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _validate_client(tenant_segment: str, params: dict) -> dict:
    """The app, redirect URI and selectable users; raises _PageError."""
    store = _state().store
    try:
        tenant = tenant_or_error(store, tenant_segment)
        app = find_app(store, params.get("client_id"), tenant_segment)
    except OAuthError as e:
        raise _PageError(e) from None
    redirect_uri = params.get("redirect_uri") or (app.redirect_uris[0] if app.redirect_uris else "")
    if redirect_uri not in app.redirect_uris:
        raise _PageError(
            OAuthError(
                "invalid_request",
                50011,
                f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect "
                f"URIs configured for the application '{app.client_id}'. Make sure the redirect URI sent "
                "in the request matches one added to your application in the Azure portal.",
            )
        )
    users = [u for u in store.users.values() if tenant is None or u.tid == tenant.tid]
    return {
        "app": app,
        "tenant": tenant,
        "redirect_uri": redirect_uri,
        "users": sorted(users, key=lambda u: u.upn.lower()),
    }


def _validate_request(params: dict) -> None:
    if params.get("response_type") != "code":
        raise OAuthError(
            "unsupported_response_type",
            700054,
            f"response_type '{params.get('response_type')}' is not enabled for the "
            "application. Only 'code' is supported by the emulator.",
        )
    method = params.get("code_challenge_method")
    if method and method not in ("S256", "plain"):
        raise OAuthError("invalid_request", 501491, "Invalid code_challenge_method: only S256 and plain are supported.")
    parse_scopes(params.get("scope"), _state().store)


def _chosen_user(flow, params):
    """The user picked on the page, or the login_hint with prompt=none; None shows the page."""
    store = _state().store
    if request.method == "POST" and params.get("oid"):
        user = store.users.get(params["oid"])
    elif params.get("prompt") == "none":
        user = store.find_user(params.get("login_hint") or "")
        if user is None:
            raise OAuthError("login_required", 50058, "A silent sign-in request was sent but no user is signed in.")
    else:
        return None
    if user is None or (flow["tenant"] is not None and user.tid != flow["tenant"].tid):
        raise OAuthError("invalid_request", 50020, "The chosen user account does not exist in this tenant.")
    if not user.account_enabled:
        raise OAuthError("access_denied", 50057, "The user account is disabled.")
    return user


def _answer(flow, params: dict, result: dict):
    """Send `result` (+ state) to the redirect URI the way response_mode asks."""
    if params.get("state") is not None:
        result = dict(result, state=params["state"])
    uri = flow["redirect_uri"]
    mode = params.get("response_mode") or "query"
    if mode == "form_post":
        return render_template_string(FORM_POST, uri=uri, params=result)
    separator = "#" if mode == "fragment" else ("&" if "?" in uri else "?")
    return redirect(f"{uri}{separator}{urlencode(result)}", code=302)


def _page(**context):
    context.setdefault("error", None)
    context.setdefault("notice", None)
    return render_template_string(PAGE, **context)
