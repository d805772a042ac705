"""Cases, tasks, notes, conversation links and sharing rules from the pane, over the
real stack."""

from __future__ import annotations

from sqlalchemy import select

from server.crm.cases import conversation_links_for
from server.crm.models import Email, EmailLink, User
from tests.support.arrange_contacts import seed_contoso
from tests.support.emulated_messages import find_message
from tests.support.identities import ADELE, CONTOSO, MEGAN

NORTHWIND_ORDER = "Plain: order confirmation from Northwind"
CONVERSATION = "AAQkADBiNWU4ZjRhLXRlc3QtY29udmVyc2F0aW9uLWxpbmsAEAA="


def filed_email(pane, emulator, subject=NORTHWIND_ORDER, upn=ADELE) -> int:
    message = find_message(emulator, upn, subject)
    answer = pane(upn).post(f"/messages/{message['id']}/sync")
    assert answer.status_code == 200, answer.json
    return answer.json["crm_email_id"]


def user_id(crm, upn: str) -> int:
    return crm.scalar(select(User.id).where(User.upn == upn))


def links_of(crm, email_id):
    crm.expire_all()
    return {
        (l.target_type, l.target_id, l.source)
        for l in crm.scalars(select(EmailLink).where(EmailLink.email_id == email_id))
    }


def test_create_and_list_cases_and_tasks(pane):
    user = pane()
    case = user.post("/cases", json={"title": "  Northwind   renewal ", "description": "2027 terms"})
    assert case.status_code == 201, case.json
    assert case.json["title"] == "Northwind renewal" and case.json["status"] == "open"
    assert case.json["url"].endswith(f"/crm/cases/{case.json['id']}")
    other = user.post("/cases", json={"title": "Tailspin complaint"}).json

    listed = user.get("/cases").json["cases"]
    assert [c["id"] for c in listed] == [other["id"], case.json["id"]]  # newest first
    assert [c["title"] for c in user.get("/cases", query_string={"q": "renew"}).json["cases"]] == ["Northwind renewal"]
    page = user.get("/cases", query_string={"limit": 1}).json
    assert len(page["cases"]) == 1 and page["next_before_id"] == other["id"]
    rest = user.get("/cases", query_string={"limit": 1, "before_id": page["next_before_id"]}).json
    assert [c["id"] for c in rest["cases"]] == [case.json["id"]]

    task = user.post(
        "/tasks", json={"title": "Send offer", "case_id": case.json["id"], "due_at": "2027-01-15T09:00:00+00:00"}
    )
    assert task.status_code == 201, task.json
    assert task.json["case_id"] == case.json["id"] and task.json["due_at"].startswith("2027-01-15T09:00")
    user.post("/tasks", json={"title": "Unrelated"})
    tasks = user.get("/tasks", query_string={"case_id": case.json["id"]}).json["tasks"]
    assert [t["title"] for t in tasks] == ["Send offer"]
    assert user.get(f"/cases/{case.json['id']}").json["title"] == "Northwind renewal"

    assert user.post("/cases", json={"title": "   "}).status_code == 400
    assert user.post("/tasks", json={"title": "x", "case_id": 999999}).status_code == 404
    assert user.get("/cases/999999").json["error"]["code"] == "case_not_found"


def test_link_an_email_to_a_case_and_task_created_inline_then_unlink(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    email_id = filed_email(pane, emulator)
    user = pane()

    answer = user.post(
        f"/emails/{email_id}/links", json={"new_case": {"title": "Order 42"}, "new_task": {"title": "Confirm delivery"}}
    )

    assert answer.status_code == 200, answer.json
    case, task = answer.json["created"]["case"], answer.json["created"]["task"]
    assert task["case_id"] == case["id"]  # a task created with a case goes on it
    assert ("case", case["id"], "manual") in links_of(crm, email_id)
    assert ("task", task["id"], "manual") in links_of(crm, email_id)
    shown = {(l["target_type"], l["title"]) for l in answer.json["links"]}
    assert {("case", "Order 42"), ("task", "Confirm delivery")} <= shown
    assert ("contact", "Lynne Robbins") in shown  # the address links filed by sync are listed too

    existing = user.post("/cases", json={"title": "Existing"}).json
    again = user.post(f"/emails/{email_id}/links", json={"case_id": existing["id"]})
    assert again.status_code == 200 and ("case", existing["id"], "manual") in links_of(crm, email_id)

    removed = user.delete(f"/emails/{email_id}/links/case/{case['id']}")
    assert removed.status_code == 200
    assert ("case", case["id"], "manual") not in links_of(crm, email_id)
    assert crm.get(Email, email_id) is not None  # unlinking keeps the email filed
    assert user.delete(f"/emails/{email_id}/links/case/{case['id']}").status_code == 404

    assert user.post(f"/emails/{email_id}/links", json={}).status_code == 400
    assert user.post(f"/emails/{email_id}/links", json={"case_id": 999999}).status_code == 404
    assert (
        user.post("/emails/999999/links", json={"case_id": existing["id"]}).json["error"]["code"] == "email_not_found"
    )


def test_notes_are_shared_with_colleagues(pane, emulator):
    email_id = filed_email(pane, emulator)
    adele, megan = pane(ADELE), pane(MEGAN)

    note = adele.post(f"/emails/{email_id}/notes", json={"body": "Customer wants delivery by Friday."})
    assert note.status_code == 201, note.json
    assert note.json["mine"] is True and note.json["author"]["name"]

    seen = megan.get(f"/emails/{email_id}/notes")
    assert seen.status_code == 200
    assert [(n["body"], n["mine"]) for n in seen.json["notes"]] == [("Customer wants delivery by Friday.", False)]
    megan.post(f"/emails/{email_id}/notes", json={"body": "Booked the courier."})
    assert [n["body"] for n in adele.get(f"/emails/{email_id}/notes").json["notes"]] == [
        "Customer wants delivery by Friday.",
        "Booked the courier.",
    ]

    assert megan.delete(f"/notes/{note.json['id']}").status_code == 403
    assert adele.delete(f"/notes/{note.json['id']}").status_code == 204
    assert len(adele.get(f"/emails/{email_id}/notes").json["notes"]) == 1
    assert adele.post(f"/emails/{email_id}/notes", json={"body": ""}).status_code == 400


def deliver(emulator, subject: str, n: int) -> None:
    emulator.deliver(
        ADELE,
        {
            "subject": subject,
            "conversationId": CONVERSATION,
            "internetMessageId": f"<conv-{n}@northwind.example>",
            "from": {"emailAddress": {"name": "Lynne Robbins", "address": "lynne.robbins@northwind.example"}},
            "toRecipients": [{"emailAddress": {"name": "Adele Vance", "address": ADELE}}],
            "body": {"contentType": "text", "content": f"Message {n} of the thread."},
            "receivedDateTime": f"2026-11-0{n}T10:00:00Z",
        },
    )


def test_link_a_conversation_links_its_filed_messages_and_unlink_keeps_them(pane, emulator, crm, app):
    deliver(emulator, "Thread: delivery dates", 1)
    deliver(emulator, "RE: Thread: delivery dates", 2)
    first = filed_email(pane, emulator, "Thread: delivery dates")
    second = filed_email(pane, emulator, "RE: Thread: delivery dates")
    other = filed_email(pane, emulator)  # another conversation
    user = pane()

    answer = user.post(f"/emails/{first}/conversation-links", json={"new_case": {"title": "Delivery dates"}})

    assert answer.status_code == 200, answer.json
    case_id = answer.json["created"]["case"]["id"]
    assert answer.json["conversation_id"] == CONVERSATION and answer.json["linked_emails"] == 2
    assert ("case", case_id, "conversation") in links_of(crm, first)
    assert ("case", case_id, "conversation") in links_of(crm, second)
    assert not any(t == "case" for t, _, _ in links_of(crm, other))
    # What automatic sync gives a message of this conversation filed later in Adele's
    # mailbox, and in nobody else's.
    adele_id = user_id(crm, ADELE)
    assert conversation_links_for(crm, CONTOSO, CONVERSATION, adele_id) == [("case", case_id, "conversation")]
    listed = user.get(f"/emails/{second}/conversation-links").json
    assert [(l["target_type"], l["target_id"], l["title"]) for l in listed["links"]] == [
        ("case", case_id, "Delivery dates")
    ]

    repeat = user.post(f"/emails/{second}/conversation-links", json={"case_id": case_id})
    assert repeat.json["linked_emails"] == 0 and len(repeat.json["links"]) == 1

    link_id = listed["links"][0]["id"]
    assert user.delete(f"/conversation-links/{link_id}").status_code == 204
    assert conversation_links_for(crm, CONTOSO, CONVERSATION, adele_id) == []
    assert ("case", case_id, "conversation") in links_of(crm, first)  # what was filed stays linked
    assert user.delete(f"/conversation-links/{link_id}").status_code == 404


def test_sharing_rules_are_per_mailbox_and_visible_to_everyone(pane):
    adele, megan = pane(ADELE), pane(MEGAN)
    case = adele.post("/cases", json={"title": "Northwind account"}).json

    created = adele.post(f"/cases/{case['id']}/sharing-rules", json={"address": "Lynne.Robbins@Northwind.example"})

    assert created.status_code == 201, created.json
    assert created.json["rule"]["address"] == "lynne.robbins@northwind.example"
    assert created.json["rule"]["mailbox"] == ADELE and created.json["created"] is True
    assert "confidential" in created.json["warning"]
    again = adele.post(f"/cases/{case['id']}/sharing-rules", json={"address": "lynne.robbins@northwind.example"})
    assert again.json["created"] is False and again.json["rule"]["id"] == created.json["rule"]["id"]

    seen = megan.get(f"/cases/{case['id']}/sharing-rules")
    assert seen.status_code == 200 and "confidential" in seen.json["warning"]
    assert [(r["address"], r["mailbox"], r["mine"]) for r in seen.json["rules"]] == [
        ("lynne.robbins@northwind.example", ADELE, False)
    ]

    rule_id = created.json["rule"]["id"]
    assert megan.delete(f"/cases/{case['id']}/sharing-rules/{rule_id}").status_code == 403
    assert adele.delete(f"/cases/{case['id']}/sharing-rules/{rule_id}").status_code == 204
    assert adele.get(f"/cases/{case['id']}/sharing-rules").json["rules"] == []

    assert adele.post(f"/cases/{case['id']}/sharing-rules", json={"address": "nope"}).status_code == 400
    assert adele.post(f"/cases/{case['id']}/sharing-rules", json={"address": ADELE}).status_code == 400
