"""A revoked Graph token meets a `$batch`: Graph refuses the whole batch 401 before any part
runs, so the backend's transport renews the token once and sends the batch again; the
reads and marks inside it then succeed, each done once. The emulator refuses one named
token with an `expired_token` fault rule carrying `token`; counts come from its request log."""

from __future__ import annotations

from sqlalchemy import func, select

from server.crm.models import Email, MailboxItem
from server.db import session_scope
from server.graph import GraphClient
from tests.support.arrange_contacts import seed_contoso
from tests.support.emulated_messages import find_message, outlook_state
from tests.support.graph_tokens import cached_delegated_token, token_requests
from tests.support.identities import ADELE, ADELE_OID, CONTOSO
from tests.support.waiting import wait_idle

SUBJECTS = ("Plain: order confirmation from Northwind", "Plain: internal note from Megan", "Hard case: IDN domains")
BATCH_PATH = r"^/v1\.0/\$batch$"


def count(app, model) -> int:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).select_from(model))


def outer_batches(emulator) -> list[int]:
    return [r["status"] for r in emulator.requests(path=BATCH_PATH) if not r["in_batch"]]


def inner_statuses(emulator) -> list[int]:
    return [r["status"] for r in emulator.requests() if r["in_batch"]]


def test_batch_sync_after_the_delegated_token_is_revoked_renews_once_and_syncs_each_once(
    pane, app, emulator, fresh_tokens, clean_state
):
    with session_scope(app) as session:
        seed_contoso(session, CONTOSO)
    user = pane()
    ids = [find_message(emulator, ADELE, subject)["id"] for subject in SUBJECTS]
    # One message first: caches the delegated token and does the once-per-mailbox
    # preparation (master categories, the user's addresses), so the batch is the first
    # Graph request to carry the revoked token.
    assert user.post("/messages/batch-sync", json={"ids": ids[:1]}).status_code == 200
    wait_idle(app)
    revoked = cached_delegated_token(fresh_tokens, user.token)
    emulator.fault(kind="expired_token", token=revoked)
    emulator.clear_requests()

    response = user.post("/messages/batch-sync", json={"ids": ids})

    assert response.status_code == 200, response.json
    assert all(r["ok"] for r in response.json["results"]), response.json
    batches = outer_batches(emulator)
    assert batches[0] == 401 and batches.count(401) == 1 and set(batches[1:]) == {200}
    assert all(status < 400 for status in inner_statuses(emulator))
    assert token_requests(emulator) == 1
    assert cached_delegated_token(fresh_tokens, user.token) != revoked
    assert count(app, Email) == len(ids) and count(app, MailboxItem) == len(ids)
    assert all(outlook_state(emulator, ADELE, i)["state"] == "synced" for i in ids)


def test_a_batch_read_with_a_revoked_app_only_token_is_repeated_once_with_a_fresh_one(
    app, emulator, fresh_tokens, clean_state
):
    tokens = fresh_tokens.graph_tokens
    revoked = tokens.app_only(CONTOSO)
    emulator.fault(kind="expired_token", token=revoked)
    graph = GraphClient.from_config(app.config, lambda: tokens.app_only(CONTOSO), fresh_tokens.session, user=ADELE_OID)
    ids = [find_message(emulator, ADELE, subject)["id"] for subject in SUBJECTS]
    emulator.clear_requests()

    messages = graph.get_messages(ids, select=("id", "subject"))

    assert [messages[i]["subject"] for i in ids] == list(SUBJECTS)
    assert outer_batches(emulator) == [401, 200]
    assert inner_statuses(emulator) == [200] * len(ids)
    assert token_requests(emulator) == 1
    assert tokens.app_only(CONTOSO) != revoked
