"""'Create contact from sender' on a message the user sent never targets the user's
own addresses (primary or alias): the ribbon's command works on the first external
recipient, or says in plain words what to do instead."""

from __future__ import annotations

from sqlalchemy import func, select

from server.crm.models import Contact
from tests.support.emulated_contacts import contacts_with, outlook_contact
from tests.support.emulated_messages import find_message, new_message
from tests.support.identities import ADELE, MEGAN

ALIAS = "adele@contoso.com"
OWN = (ADELE, ALIAS)


def sent(emulator, subject: str, to, cc=(), sender=ALIAS) -> dict:
    message = new_message(sender, subject, to=to)
    message["from"]["emailAddress"]["name"] = "Adele Vance"
    message["ccRecipients"] = [{"emailAddress": {"address": a, "name": ""}} for a in cc]
    emulator.deliver(ADELE, message, folder="sentitems")
    return find_message(emulator, ADELE, subject, folder="sentitems")


def ribbon_create(pane, message: dict, sender=ALIAS):
    """What the ribbon's 'Create Outlook contact from sender' sends: Office.js's From."""
    return pane().post(
        "/outlook-contacts", json={"address": sender, "name": "Adele Vance", "message_id": message["id"]}
    )


def no_contact_for_the_user(emulator):
    for address in OWN:
        assert contacts_with(emulator, ADELE, address) == []


def test_on_a_fixture_sent_item_the_command_names_the_recipient(pane, emulator):
    message = find_message(emulator, ADELE, "Plain: reply to Northwind order", folder="sentitems")

    answer = ribbon_create(pane, message, sender=ADELE)

    assert answer.status_code == 200, answer.json
    assert answer.json["address"].lower() == "lynne.robbins@northwind.example"
    assert answer.json["created"] is False  # Lynne is already in Adele's contacts
    no_contact_for_the_user(emulator)


def test_sent_from_an_alias_to_a_colleague_and_a_customer_creates_the_customers_contact(pane, emulator):
    message = sent(emulator, "Offer for Stavby Morava", to=[MEGAN, "pavel.dvorak@stavby-morava.example"], cc=[ALIAS])

    answer = ribbon_create(pane, message)

    assert answer.status_code == 200, answer.json
    assert answer.json["created"] is True
    assert answer.json["address"] == "pavel.dvorak@stavby-morava.example"
    stored = outlook_contact(emulator, ADELE, answer.json["id"])
    assert [e["address"] for e in stored["emailAddresses"]] == ["pavel.dvorak@stavby-morava.example"]
    no_contact_for_the_user(emulator)
    assert contacts_with(emulator, ADELE, MEGAN) == []


def test_sent_to_colleagues_only_says_what_to_do_instead(pane, emulator):
    message = sent(emulator, "Pipeline review", to=[MEGAN], cc=[ADELE])

    answer = ribbon_create(pane, message)

    assert answer.status_code == 400
    error = answer.json["error"]
    assert error["code"] == "no_external_recipient"
    assert "You sent this message" in error["message"] and "pane" in error["message"]
    no_contact_for_the_user(emulator)
    assert contacts_with(emulator, ADELE, MEGAN) == []


def test_the_users_own_address_or_alias_is_never_a_contact(pane, emulator, crm):
    for address in OWN:
        answer = pane().post("/outlook-contacts", json={"address": address.upper(), "name": "Adele Vance"})
        assert answer.status_code == 400, answer.json
        assert answer.json["error"]["code"] == "own_address"
        assert "your own address" in answer.json["error"]["message"]
    no_contact_for_the_user(emulator)

    message = find_message(emulator, ADELE, "Plain: reply to Northwind order", folder="sentitems")
    answer = pane().post(f"/messages/{message['id']}/contacts", json={"address": ALIAS, "link_email": False})
    assert answer.status_code == 400 and answer.json["error"]["code"] == "own_address"
    assert crm.scalar(select(func.count()).select_from(Contact)) == 0


def test_received_mail_still_creates_the_senders_contact(pane, emulator):
    message = find_message(emulator, ADELE, "Plain: order confirmation from Northwind")
    answer = pane().post(
        "/outlook-contacts",
        json={"address": "lynne.robbins@northwind.example", "name": "Robbins, Lynne", "message_id": message["id"]},
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["address"].lower() == "lynne.robbins@northwind.example"
