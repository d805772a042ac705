"""Conversation links belong to their makers: each user links a thread for their own
mailbox, the list says whose each link is, only its maker stops one, and the message
view tells a user which records colleagues file the thread on (so the pane can offer a
link of their own)."""

from __future__ import annotations

from tests.support.emulated_messages import find_message, new_message
from tests.support.identities import ADELE, MEGAN

LYNNE = "lynne.robbins@northwind.example"
THREAD = "AAQkADBiNWU4ZjRhLXJvdXRlLWxpbmstbWFrZXJzAAQAA="


def file_thread_message(pane, emulator, upn: str, subject: str) -> tuple[str, int]:
    """Delivers a message of the thread to `upn` and files it from their pane: (message id, CRM email id)."""
    emulator.deliver(upn, new_message(LYNNE, subject, to=[upn], conversationId=THREAD))
    message = find_message(emulator, upn, subject)
    answer = pane(upn).post(f"/messages/{message['id']}/sync")
    assert answer.status_code == 200, answer.json
    return message["id"], answer.json["crm_email_id"]


def test_each_user_links_a_thread_for_themselves_and_sees_whose_each_link_is(pane, emulator):
    _, adele_email = file_thread_message(pane, emulator, ADELE, "Thread: delivery window")
    emulator.deliver(MEGAN, new_message(LYNNE, "RE: Thread: delivery window", to=[MEGAN], conversationId=THREAD))
    megan_message = find_message(emulator, MEGAN, "RE: Thread: delivery window")["id"]
    linked = pane(ADELE).post(f"/emails/{adele_email}/conversation-links", json={"new_case": {"title": "Delivery"}})
    assert linked.status_code == 200, linked.json
    case = linked.json["created"]["case"]

    # Megan's pane, on her own copy of the thread (not filed yet): Adele files it on the
    # case, Megan does not.
    view = pane(MEGAN).get(f"/messages/{megan_message}")
    assert view.status_code == 200, view.json
    assert view.json["colleague_links"] == [
        {
            "target_type": "case",
            "target_id": case["id"],
            "title": "Delivery",
            "url": case["url"],
            "made_by": "Adele Vance",
        }
    ]
    # Adele's own link is not a suggestion to Adele.
    adele_message = find_message(emulator, ADELE, "Thread: delivery window")["id"]
    assert pane(ADELE).get(f"/messages/{adele_message}").json["colleague_links"] == []

    # What the suggestion's one click does: file Megan's message, then link from it.
    filed = pane(MEGAN).post(f"/messages/{megan_message}/sync").json
    mine = pane(MEGAN).post(f"/emails/{filed['crm_email_id']}/conversation-links", json={"case_id": case["id"]})
    assert mine.status_code == 200, mine.json
    assert [(link["target_id"], link["mine"], link["made_by"]) for link in mine.json["links"]] == [
        (case["id"], False, "Adele Vance"),
        (case["id"], True, "Megan Bowen"),
    ]
    assert pane(MEGAN).get(f"/messages/{megan_message}").json["colleague_links"] == []
    again = pane(MEGAN).post(f"/emails/{adele_email}/conversation-links", json={"case_id": case["id"]})
    assert len(again.json["links"]) == 2 and again.json["linked_emails"] == 0

    # Each stops only their own.
    adele_link, megan_link = (link["id"] for link in mine.json["links"])
    refused = pane(MEGAN).delete(f"/conversation-links/{adele_link}")
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert pane(ADELE).delete(f"/conversation-links/{megan_link}").status_code == 403
    assert pane(ADELE).delete(f"/conversation-links/{adele_link}").status_code == 204
    left = pane(ADELE).get(f"/emails/{adele_email}/conversation-links").json["links"]
    assert [(link["id"], link["mine"]) for link in left] == [(megan_link, False)]
    # Megan's link is now a suggestion to Adele.
    assert [s["made_by"] for s in pane(ADELE).get(f"/messages/{adele_message}").json["colleague_links"]] == [
        "Megan Bowen"
    ]


def test_no_suggestion_on_a_message_marked_dont_sync(pane, emulator):
    _, adele_email = file_thread_message(pane, emulator, ADELE, "Thread: marked")
    pane(ADELE).post(f"/emails/{adele_email}/conversation-links", json={"new_case": {"title": "Marked"}})
    emulator.deliver(MEGAN, new_message(LYNNE, "RE: Thread: marked", to=[MEGAN], conversationId=THREAD))
    megan_message = find_message(emulator, MEGAN, "RE: Thread: marked")["id"]
    assert len(pane(MEGAN).get(f"/messages/{megan_message}").json["colleague_links"]) == 1

    marked = pane(MEGAN).post(f"/messages/{megan_message}/state", json={"state": "synced"})
    assert marked.status_code == 200, marked.json

    assert pane(MEGAN).get(f"/messages/{megan_message}").json["colleague_links"] == []
