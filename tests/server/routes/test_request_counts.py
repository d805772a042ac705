"""Graph calls per operation, counted in the emulator's request log: the hot path
stays lean (benchmarks measure the time; these pin the counts)."""

from __future__ import annotations

from tests.support.arrange_contacts import seed_contoso
from tests.support.backend import settle_jobs
from tests.support.emulated_messages import find_message
from tests.support.identities import ADELE, CONTOSO

SUBJECT = "Plain: order confirmation from Northwind"


def graph_calls(emulator):
    return [r for r in emulator.requests() if r["path"].startswith("/v1.0") and not r.get("in_batch")]


def token_calls(emulator):
    return [
        r
        for r in emulator.requests()
        if "/oauth2/" in r["path"] or "/discovery/" in r["path"] or "openid-configuration" in r["path"]
    ]


def test_open_costs_one_get_and_at_most_one_batch(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, SUBJECT)
    user = pane()
    user.get(f"/messages/{message['id']}")  # warm tokens, keys
    emulator.clear_requests()

    assert user.get(f"/messages/{message['id']}").status_code == 200

    calls = graph_calls(emulator)
    gets = [c for c in calls if c["method"] == "GET"]
    batches = [c for c in calls if c["path"].endswith("/$batch")]
    assert len(gets) == 1 and len(batches) <= 1 and len(calls) == len(gets) + len(batches)
    assert token_calls(emulator) == []  # OBO token and JWKS are cached


def people_hint(emulator, message):
    """What the pane sends: the From/To/Cc addresses Office.js shows."""
    shown = emulator.graph(
        "GET",
        f"/me/messages/{message['id']}",
        emulator.graph_token(ADELE),
        params={"$select": "from,toRecipients,ccRecipients"},
    ).json()
    entries = [shown.get("from")] + shown.get("toRecipients", []) + shown.get("ccRecipients", [])
    return ",".join(e["emailAddress"]["address"] for e in entries if e)


def test_open_with_the_panes_people_costs_one_batch(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, SUBJECT)
    user = pane()
    plain = user.get(f"/messages/{message['id']}").json
    hint = people_hint(emulator, message)
    assert "northwind" in hint
    emulator.clear_requests()

    hinted = user.get(f"/messages/{message['id']}", query_string={"people": hint})

    assert hinted.status_code == 200
    calls = graph_calls(emulator)
    assert [(c["method"], c["path"].rsplit("/", 1)[-1]) for c in calls] == [("POST", "$batch")]
    assert hinted.json == plain  # same answer, one Graph request instead of two
    assert plain["outlook_contacts_checked"] is True


def test_a_wrong_people_list_never_changes_the_answer(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, SUBJECT)
    user = pane()
    plain = user.get(f"/messages/{message['id']}").json
    emulator.clear_requests()

    # Strangers, the user's own address and junk: only the message's real people are
    # reported, and those the list missed are looked up in one more $batch.
    wrong = user.get(
        f"/messages/{message['id']}",
        query_string={"people": f"stranger@elsewhere.example,{ADELE},not-an-address,,megan.bowen@contoso.com"},
    )

    assert wrong.status_code == 200
    assert wrong.json == plain
    calls = graph_calls(emulator)
    assert len(calls) == 2 and all(c["path"].endswith("/$batch") for c in calls)


def test_an_oversized_people_list_is_a_clear_400(pane, emulator):
    message = find_message(emulator, ADELE, SUBJECT)
    answer = pane().get(
        f"/messages/{message['id']}", query_string={"people": ",".join(f"p{n}@x.example" for n in range(501))}
    )
    assert answer.status_code == 400
    assert answer.json["error"]["code"]


def test_sync_adds_one_patch_and_a_repeat_adds_nothing(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, SUBJECT)
    other = find_message(emulator, ADELE, "Hard case: attachments")
    user = pane()
    # Warm tokens, keys and categories on another message: this sync has no recent open
    # to reuse (test_open_then_sync.py counts that one).
    user.get(f"/messages/{other['id']}")
    user.post(f"/messages/{other['id']}/sync")
    emulator.clear_requests()

    assert user.post(f"/messages/{message['id']}/sync").status_code == 200
    calls = graph_calls(emulator)
    assert [c["method"] for c in calls] == ["GET", "PATCH"]

    emulator.clear_requests()
    assert user.post(f"/messages/{message['id']}/sync").status_code == 200
    assert [c["method"] for c in graph_calls(emulator)] == ["GET"]


def test_batch_of_100_costs_at_most_ten_batches(app, pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    for n in range(100):
        emulator.deliver(
            ADELE,
            {
                "subject": f"Bulk {n:03d}",
                "from": {"emailAddress": {"name": "Lynne Robbins", "address": "lynne.robbins@northwind.example"}},
                "toRecipients": [{"emailAddress": {"name": "Adele Vance", "address": ADELE}}],
                "body": {"contentType": "text", "content": f"Order {n}"},
                "internetMessageId": f"<bulk-{n}@northwind.example>",
            },
        )
    token = emulator.graph_token(ADELE)
    listed = emulator.graph(
        "GET",
        "/me/mailFolders/inbox/messages",
        token,
        params={"$filter": "startswith(subject,'Bulk ')", "$select": "id", "$top": "100"},
    ).json()["value"]
    ids = [m["id"] for m in listed]
    assert len(ids) == 100
    user = pane()
    user.get(f"/messages/{ids[0]}")
    user.post(f"/messages/{ids[0]}/state", json={"state": "unsynced"})
    settle_jobs(app)  # the open's catch-up round must not land in the batch's count
    emulator.clear_requests()

    response = user.post("/messages/batch-sync", json={"ids": ids})

    assert response.status_code == 200, response.json
    results = response.json["results"]
    assert [r["id"] for r in results] == ids
    assert all(r["ok"] for r in results), [r for r in results if not r["ok"]][:3]
    calls = graph_calls(emulator)
    assert all(c["path"].endswith("/$batch") for c in calls), [c for c in calls if not c["path"].endswith("/$batch")]
    assert len(calls) <= 10
