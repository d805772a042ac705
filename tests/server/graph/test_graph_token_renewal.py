"""A Graph token our cache still holds but Graph refuses: revoked or expired early (401),
or issued before admin consent added a role (403). The backend drops it, fetches a fresh
one and repeats the request once; a token Graph refuses again, or a 403 a new token
cannot fix, fails as before. The emulator refuses one named token with an
`expired_token` fault rule carrying `token`; counts come from its request log."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.crm.models import Email, SyncJob, User
from server.db import session_scope
from server.graph import AccessDenied, GraphClient, Unauthorized
from server.jobs.queue import retry_job
from server.sync.bulk import enqueue_bulk
from tests.support.emulated_messages import find_message
from tests.support.graph_tokens import cached_delegated_token, token_requests
from tests.support.identities import ADELE, ADELE_OID, CONTOSO, MEGAN
from tests.support.waiting import wait_for

NORTHWIND = "Plain: order confirmation from Northwind"
GRAPH_PATH = r"^/v1\.0/"
CONSENTED = {
    "scopes": ["Mail.ReadWrite", "Contacts.ReadWrite", "MailboxSettings.ReadWrite", "User.Read", "offline_access"],
    "roles": ["Mail.ReadWrite", "Contacts.ReadWrite", "MailboxSettings.ReadWrite"],
}


def graph_statuses(emulator) -> list[int]:
    return [r["status"] for r in emulator.requests(path=GRAPH_PATH) if not r["in_batch"]]


# -- on behalf of the user (the pane) -------------------------------------------------------


def test_a_revoked_delegated_token_in_the_cache_is_replaced_and_the_read_repeated_once(
    pane, emulator, fresh_tokens, clean_state
):
    user = pane()
    message = find_message(emulator, ADELE, NORTHWIND)
    assert user.get(f"/messages/{message['id']}").status_code == 200
    revoked = cached_delegated_token(fresh_tokens, user.token)
    emulator.fault(kind="expired_token", token=revoked)
    emulator.clear_requests()

    opened = user.get(f"/messages/{message['id']}")

    assert opened.status_code == 200, opened.json
    statuses = graph_statuses(emulator)
    assert statuses[0] == 401 and statuses.count(401) == 1 and set(statuses[1:]) == {200}
    assert token_requests(emulator) == 1
    assert cached_delegated_token(fresh_tokens, user.token) != revoked
    emulator.clear_requests()
    assert user.get(f"/messages/{message['id']}").status_code == 200
    assert 401 not in graph_statuses(emulator) and token_requests(emulator) == 0


def test_a_token_graph_refuses_twice_asks_the_user_to_sign_in_again(pane, emulator, fresh_tokens, clean_state):
    user = pane()
    message = find_message(emulator, ADELE, NORTHWIND)
    assert user.get(f"/messages/{message['id']}").status_code == 200
    emulator.fault(path=GRAPH_PATH, kind="expired_token")
    emulator.clear_requests()

    refused = user.get(f"/messages/{message['id']}")

    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "graph_unauthorized"
    assert graph_statuses(emulator) == [401, 401]  # the request, and one repeat with a fresh token
    assert token_requests(emulator) == 1


def test_a_403_a_fresh_token_cannot_fix_is_not_repeated(app, emulator, fresh_tokens, clean_state):
    """Adele's own token may not read Megan's mailbox: a new token has no more scopes."""
    principal = fresh_tokens.validator.validate(emulator.pane_token(ADELE))
    graph = GraphClient.from_config(
        app.config, lambda: fresh_tokens.graph_tokens.delegated(principal), fresh_tokens.session, user=MEGAN
    )
    emulator.clear_requests()
    with pytest.raises(AccessDenied):
        graph.get_user()
    assert graph_statuses(emulator) == [403]
    assert token_requests(emulator) == 2  # the first token, and the fresh one compared with it


# -- app-only (background work) -------------------------------------------------------------


def test_a_revoked_app_only_token_is_dropped_from_msals_cache(app, emulator, fresh_tokens, clean_state):
    tokens = fresh_tokens.graph_tokens
    revoked = tokens.app_only(CONTOSO)
    assert tokens.app_only(CONTOSO) == revoked  # msal's cache
    emulator.fault(kind="expired_token", token=revoked)
    graph = GraphClient.from_config(app.config, lambda: tokens.app_only(CONTOSO), fresh_tokens.session, user=ADELE_OID)
    emulator.clear_requests()

    assert next(iter(graph.list_messages("inbox", select=("id",), page_size=1)))["id"]

    assert graph_statuses(emulator) == [401, 200]
    assert token_requests(emulator) == 1
    assert tokens.app_only(CONTOSO) != revoked


def test_a_provider_without_a_better_token_is_not_asked_to_repeat(app, emulator, fresh_tokens, clean_state):
    token = emulator.app_token(CONTOSO)
    emulator.fault(kind="expired_token", token=token)
    graph = GraphClient.from_config(app.config, lambda: token, fresh_tokens.session, user=ADELE_OID)
    emulator.clear_requests()
    with pytest.raises(Unauthorized):
        next(iter(graph.list_messages("inbox", select=("id",), page_size=1)))
    assert graph_statuses(emulator) == [401]


def job_state(app, job_id: int) -> tuple[str, str]:
    with session_scope(app) as session:
        job = session.get(SyncJob, job_id)
        return job.state, job.error


def test_background_sync_without_consent_fails_clearly_then_works_as_soon_as_consent_is_granted(
    app, emulator, adele, fresh_tokens, monkeypatch
):
    monkeypatch.setitem(app.config, "JOB_MAX_ATTEMPTS", 1)
    emulator.consent(CONTOSO, scopes=CONSENTED["scopes"], roles=[])
    emulator.clear_requests()
    with session_scope(app) as session:
        job_id = enqueue_bulk(app, session.get(User, adele), "inbox", "2026-01-01")

    state, error = wait_for(
        lambda: job_state(app, job_id)[0] == "failed" and job_state(app, job_id), 30, what="the job to fail"
    )
    assert "ErrorAccessDenied" in error and "Access is denied" in error
    assert graph_statuses(emulator) == [403]  # a fresh token had no new role: not repeated
    assert token_requests(emulator) == 2

    emulator.consent(CONTOSO, scopes=CONSENTED["scopes"], roles=CONSENTED["roles"])
    emulator.clear_requests()
    assert retry_job(job_id, tenant_id=CONTOSO, app=app) is True

    wait_for(lambda: job_state(app, job_id)[0] == "done", 30, what="the retried job")
    statuses = graph_statuses(emulator)
    # The role-less token msal still cached is refused once, then a fresh one works.
    assert statuses[0] == 403 and statuses.count(403) == 1 and all(s < 400 for s in statuses[1:])
    assert token_requests(emulator) == 1
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Email)) > 0
