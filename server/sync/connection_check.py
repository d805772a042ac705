""" "Test connection": token, consent, Graph access and categories, each checked
separately and reported in plain words with what to fix, in the language of the page
that asked (Flask-Babel; the catalogues are the CRM pages', server/translations/).

Uses a fresh GraphTokens (own msal cache) so the answer reflects the tenant's
consent as it is now, not a token cached before an administrator changed it.
Background work (delta, webhooks, bulk) runs app-only, so the app-only path is
what must work; a delegated token, when the caller has one, is checked too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import jwt
import requests
from flask_babel import gettext, lazy_gettext, ngettext

from server.auth.graph_tokens import GraphTokens
from server.errors import ApiError
from server.graph import properties
from server.graph.errors import AccessDenied, GraphError, GraphTimeout, NotFound, Throttled, Unauthorized, Unavailable
from server.sync.mailbox_factory import app_only_graph, delegated_graph

log = logging.getLogger(__name__)

OK, FAILED, SKIPPED = "ok", "failed", "skipped"

# Application permissions the app needs, and what each one is for.
REQUIRED_PERMISSIONS = {
    "Mail.ReadWrite": lazy_gettext("read messages and mark them as synced"),
    "Contacts.ReadWrite": lazy_gettext("create and sync Outlook contacts"),
    "MailboxSettings.ReadWrite": lazy_gettext('create the "Sync to CRM" categories'),
}
# The checks' names as the page shows them (`Check.name` stays the English key).
CHECK_NAMES = {
    "Token": lazy_gettext("Token"),
    "Consent": lazy_gettext("Consent"),
    "Graph access": lazy_gettext("Graph access"),
    "Categories": lazy_gettext("Categories"),
    "Mailbox access": lazy_gettext("Mailbox access"),
}


@dataclass
class Check:
    name: str
    status: str  # ok | failed | skipped
    summary: str
    fix: str | None = None
    details: list[str] = field(default_factory=list)  # one plain sentence per problem
    link: str | None = None  # where the fix is done (admin consent)

    @property
    def ok(self) -> bool:
        return self.status == OK


def admin_consent_url(config: Mapping, tid: str) -> str:
    host = str(config["AUTHORITY_HOST"]).rstrip("/")
    return f"{host}/{tid}/adminconsent?client_id={config['AZURE_CLIENT_ID']}"


def lacks(permission: str, config: Mapping, tid: str) -> str:
    return gettext(
        "The app lacks the %(permission)s permission in your tenant: an administrator must grant "
        "admin consent at %(url)s",
        permission=permission,
        url=admin_consent_url(config, tid),
    )


def _token_fix(error: ApiError, config: Mapping, tid: str) -> str:
    authority = str(config["AUTHORITY_HOST"]).rstrip("/")
    if error.code == "auth_not_configured":
        return gettext("Set AZURE_CLIENT_ID and AZURE_CLIENT_SECRET on the server to the app registration's values.")
    if error.code == "identity_unavailable":
        return gettext(
            "The server could not reach %(authority)s. Check its network access and the AUTHORITY_HOST setting.",
            authority=authority,
        )
    if "7000229" in error.message or "65001" in error.message or error.code == "consent_required":
        return gettext(
            "The app is not installed in your tenant yet: an administrator must grant admin consent at %(url)s",
            url=admin_consent_url(config, tid),
        )
    if error.code == "identity_misconfigured":
        return gettext(
            "Microsoft refused the server's app registration. Check AZURE_CLIENT_ID and AZURE_CLIENT_SECRET "
            "(client secrets expire: create a new one in the Azure portal if needed)."
        )
    return gettext("Try again in a moment; if it persists, check the app registration in the Azure portal.")


def _roles_of(token: str) -> set[str] | None:
    """The application roles a Graph token carries, or None when it cannot be read.
    (Graph tokens are JWTs today; the signature is Graph's business, not ours.)"""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return {r for r in claims.get("roles") or () if isinstance(r, str)}


def _scopes_of(token: str) -> set[str] | None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return set(str(claims.get("scp") or "").split())


def _graph_failure(
    error: GraphError, what: str, permission: str, config: Mapping, tid: str, upn: str
) -> tuple[str, str]:
    """(summary, fix) for a Graph call that failed."""
    if isinstance(error, AccessDenied) or error.status == 403:
        return (
            gettext(
                "Graph refused to %(what)s (%(status)s %(code)s).", what=what, status=error.status, code=error.code
            ),
            lacks(permission, config, tid) + ".",
        )
    if isinstance(error, NotFound) or error.status == 404:
        return (
            gettext("Graph knows no mailbox for %(upn)s (%(code)s).", upn=upn, code=error.code),
            gettext("Give the user an Exchange Online licence, or sign in with a user who has a mailbox."),
        )
    if isinstance(error, Unauthorized) or error.status == 401:
        return (
            gettext("Graph rejected the app's token (%(code)s).", code=error.code),
            gettext(
                "Check that the app registration is for Microsoft Graph in this cloud and that GRAPH_BASE_URL is right."
            ),
        )
    if isinstance(error, (Throttled, Unavailable, GraphTimeout)):
        summary = (
            gettext("Graph is busy or did not answer (retry after %(seconds)s s).", seconds=int(error.retry_after))
            if error.retry_after
            else gettext("Graph is busy or did not answer.")
        )
        return summary, gettext("Nothing to fix on your side: try again in a few minutes.")
    return (
        gettext(
            "Graph answered %(status)s %(code)s: %(message)s",
            status=error.status,
            code=error.code,
            message=error.message,
        ),
        gettext("Try again; if it persists, contact support with this message."),
    )


@dataclass
class DelegatedProblem:
    """Why no delegated token could be had (from the authorize round trip)."""

    code: str  # consent_required | interaction_required | login_required | identity_unavailable | ...
    message: str


def _delegated_fix(problem: DelegatedProblem, config: Mapping, tid: str) -> str:
    if problem.code == "consent_required":
        return gettext(
            "The delegated permissions are not consented: an administrator must grant admin consent at %(url)s",
            url=admin_consent_url(config, tid),
        )
    if problem.code in ("interaction_required", "login_required"):
        return gettext("Microsoft wants you to sign in again: sign out, sign in, and test again.")
    if problem.code == "identity_unavailable":
        return gettext("The server could not reach Microsoft's sign-in service. Try again in a moment.")
    return gettext("Sign out, sign in, and test again; if it persists, check the app registration's redirect URI.")


def check_connection(
    config: Mapping,
    session: requests.Session,
    *,
    tid: str,
    user_oid: str,
    user_upn: str,
    delegated_token: Callable[[], str] | None = None,
    delegated_problem: DelegatedProblem | None = None,
) -> list[Check]:
    """Runs the four checks for one user's mailbox in tenant `tid`; never raises for
    what it checks (each failure becomes a Check with a fix). `delegated_token`
    (the user's own Graph token) adds the delegated side to each check;
    `delegated_problem` says why there is none."""
    checks: list[Check] = []
    tokens = GraphTokens(config, session)

    # 1. Token
    try:
        app_token = tokens.app_only(tid)
    except ApiError as error:
        checks.append(
            Check(
                "Token",
                FAILED,
                gettext("No app-only token for your tenant: %(reason)s", reason=error.message),
                _token_fix(error, config, tid),
            )
        )
        for name in ("Consent", "Graph access", "Categories"):
            checks.append(Check(name, SKIPPED, gettext("Not checked: it needs a token first.")))
        return checks
    token_summary = gettext("The app got an app-only Microsoft Graph token for your tenant.")
    delegated: str | None = None
    if delegated_token is not None and delegated_problem is None:
        try:
            delegated = delegated_token()
        except ApiError as error:
            delegated_problem = DelegatedProblem(error.code, error.message)
    if delegated_problem is not None:
        checks.append(
            Check(
                "Token",
                FAILED,
                token_summary
                + " "
                + gettext(
                    "But Microsoft gave no delegated token for you: %(reason)s", reason=delegated_problem.message
                ),
                _delegated_fix(delegated_problem, config, tid),
            )
        )
    else:
        if delegated:
            token_summary += " " + gettext("Your own (delegated) token works too.")
        checks.append(Check("Token", OK, token_summary))

    # 2. Consent
    roles = _roles_of(app_token)
    if roles is None:
        checks.append(
            Check(
                "Consent",
                SKIPPED,
                gettext(
                    "The token's permissions could not be read; the Graph access check below shows whether they work."
                ),
            )
        )
    else:
        granted = {r.lower() for r in roles}
        missing = [p for p in REQUIRED_PERMISSIONS if p.lower() not in granted]
        scopes = _scopes_of(delegated) if delegated else None
        missing_delegated = [
            p for p in REQUIRED_PERMISSIONS if scopes is not None and p.lower() not in {s.lower() for s in scopes}
        ]
        if missing or missing_delegated:
            lines = [
                lacks(p, config, tid) + " " + gettext("(needed to %(purpose)s).", purpose=REQUIRED_PERMISSIONS[p])
                for p in missing
            ]
            lines += [
                gettext(
                    "Your delegated consent lacks %(permission)s (needed to %(purpose)s).",
                    permission=p,
                    purpose=REQUIRED_PERMISSIONS[p],
                )
                for p in missing_delegated
            ]
            count = len(missing) + len(missing_delegated)
            checks.append(
                Check(
                    "Consent",
                    FAILED,
                    ngettext(
                        "Admin consent is missing %(num)d permission.",
                        "Admin consent is missing %(num)d permissions.",
                        count,
                    ),
                    gettext("An administrator of your tenant opens the admin consent page and accepts."),
                    details=lines,
                    link=admin_consent_url(config, tid),
                )
            )
        else:
            checks.append(
                Check(
                    "Consent",
                    OK,
                    gettext("Admin consent covers %(permissions)s.", permissions=", ".join(REQUIRED_PERMISSIONS)),
                )
            )

    # 3. Graph access (app-only, on this user's mailbox: what background sync does)
    graph = app_only_graph(config, tid, user_oid, token=lambda: app_token, http=session)
    reading = (gettext("read %(upn)s's mail", upn=user_upn), "Mail.ReadWrite")
    try:
        next(iter(graph.list_messages("inbox", select=("id",), page_size=1)), None)
        reading = (gettext("read %(upn)s's contacts", upn=user_upn), "Contacts.ReadWrite")
        graph.find_contacts(user_upn or "nobody@invalid.example", select=("id",))
        summary = gettext("Microsoft Graph answered: the app can read %(upn)s's inbox and contacts.", upn=user_upn)
        if delegated:
            reading = (gettext("read %(upn)s's mail with your own token", upn=user_upn), "Mail.ReadWrite")
            me = delegated_graph(config, lambda: delegated, http=session)
            next(iter(me.list_messages("inbox", select=("id",), page_size=1)), None)
            summary += " " + gettext("So can you, with your own token.")
        checks.append(Check("Graph access", OK, summary))
    except GraphError as error:
        summary, fix = _graph_failure(error, reading[0], reading[1], config, tid, user_upn)
        checks.append(Check("Graph access", FAILED, summary, fix))
    except (requests.RequestException, OSError) as error:
        log.warning("connection check: Graph unreachable: %s", error)
        checks.append(
            Check(
                "Graph access",
                FAILED,
                gettext("Microsoft Graph could not be reached."),
                gettext("Check the server's network access and the GRAPH_BASE_URL setting."),
            )
        )

    # 4. Categories
    try:
        graph.ensure_categories()
        names = ", ".join(f'"{n}"' for n in properties.OUR_CATEGORIES)
        checks.append(
            Check(
                "Categories",
                OK,
                gettext("The categories %(names)s exist in %(upn)s's mailbox.", names=names, upn=user_upn),
            )
        )
    except GraphError as error:
        summary, fix = _graph_failure(
            error,
            gettext("read or create %(upn)s's categories", upn=user_upn),
            "MailboxSettings.ReadWrite",
            config,
            tid,
            user_upn,
        )
        checks.append(Check("Categories", FAILED, summary, fix))
    except (requests.RequestException, OSError) as error:
        log.warning("connection check: categories: %s", error)
        checks.append(
            Check(
                "Categories",
                FAILED,
                gettext("Microsoft Graph could not be reached."),
                gettext("Check the server's network access and the GRAPH_BASE_URL setting."),
            )
        )
    return checks
