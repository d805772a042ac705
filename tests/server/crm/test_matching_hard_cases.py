"""Matching against the emulator's hard-case mailbox: names with commas and quotes,
mixed case, IDN domains, no From, Bcc on sent mail, 250 recipients."""

from __future__ import annotations

from sqlalchemy import select

from server.crm.models import Email, EmailLink
from tests.support.arrange_contacts import add_contact, seed_contoso
from tests.support.emulated_messages import find_message
from tests.support.identities import ADELE, CONTOSO


def people(body):
    return {p["address"]: p for p in body["people"]}


def contact_names(person):
    return sorted(c["name"] for c in person["contacts"])


def test_display_names_with_commas_and_quotes(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    add_contact(crm, CONTOSO, "Sean O'Brien", "sean.obrien@northwind.example")
    message = find_message(emulator, ADELE, "Hard case: display names with commas and quotes")
    body = pane().get(f"/messages/{message['id']}").json
    found = people(body)
    assert found["lynne.robbins@northwind.example"]["name"] == "Robbins, Lynne"
    assert contact_names(found["sean.obrien@northwind.example"]) == ["Sean O'Brien"]
    assert found["max.mueller@northwind.example"]["contacts"] == []
    assert found["max.mueller@northwind.example"]["role"] == "cc"


def test_mixed_case_addresses_match_and_own_address_is_excluded(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, "Hard case: mixed-case addresses")
    found = people(pane().get(f"/messages/{message['id']}").json)
    assert contact_names(found["diego.siciliani@tailspin.example"]) == ["Diego Siciliani"]
    assert "adele.vance@contoso.com" not in found  # ADELE.VANCE@CONTOSO.COM is the user


def test_idn_domains_match_in_unicode_and_punycode(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    add_contact(crm, CONTOSO, "Jana Nováková", "jana@bücher.example")
    add_contact(crm, CONTOSO, "Zofia Wiśniewska", "zofia@łódź.example")
    message = find_message(emulator, ADELE, "Hard case: IDN domains")
    body = pane().get(f"/messages/{message['id']}").json
    found = people(body)
    assert contact_names(found["jan@xn--bcher-kva.example"]) == ["Jan Novák"]
    assert contact_names(found["jana@xn--bcher-kva.example"]) == ["Jana Nováková"]
    # "zofia@łódź.example" and its punycode form are one address: one person
    assert contact_names(found["zofia@xn--d-uga0v4h.example"]) == ["Zofia Wiśniewska"]
    assert len([a for a in found if a.startswith("zofia@")]) == 1


def test_message_without_from_opens_and_syncs(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, "Hard case: no From address")
    user = pane()
    assert user.get(f"/messages/{message['id']}").status_code == 200
    synced = user.post(f"/messages/{message['id']}/sync")
    assert synced.status_code == 200 and synced.json["state"] == "synced"
    email = crm.get(Email, synced.json["crm_email_id"])
    assert email.from_address is None


def test_bcc_on_sent_mail_is_linked(pane, emulator, crm):
    records = seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, "Hard case: sent with Bcc", folder="sentitems")
    synced = pane().post(f"/messages/{message['id']}/sync")
    assert synced.status_code == 200
    found = people(synced.json)
    assert found["diego.siciliani@tailspin.example"]["role"] == "bcc"
    linked = set(
        crm.scalars(
            select(EmailLink.target_id).where(
                EmailLink.email_id == synced.json["crm_email_id"], EmailLink.target_type == "contact"
            )
        )
    )
    assert {records["lynne"].id, records["diego"].id, records["jan"].id} <= linked


def test_250_recipients_in_one_query(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    for n in range(1, 250, 25):
        add_contact(crm, CONTOSO, f"Customer {n}", f"customer{n:03d}@bigcustomer.example")
    message = find_message(emulator, ADELE, "Hard case: 250 recipients")
    body = pane().get(f"/messages/{message['id']}").json
    assert len(body["people"]) >= 250
    matched = [p for p in body["people"] if p["contacts"]]
    assert len(matched) >= 10


def test_attachments_metadata_and_sanitised_body_are_stored(pane, emulator, crm):
    message = find_message(emulator, ADELE, "Hard case: attachments")
    synced = pane().post(f"/messages/{message['id']}/sync").json
    email = crm.get(Email, synced["crm_email_id"])
    names = [a["name"] for a in email.attachments]
    assert "Quote 2026-114.pdf" in names and 'Pricing, "final".xlsx' in names
    assert "logo.png" not in names  # inline images are part of the body, not attachments

    hostile = find_message(emulator, ADELE, "Hard case: hostile HTML body")
    stored = crm.get(Email, pane().post(f"/messages/{hostile['id']}/sync").json["crm_email_id"])
    html = stored.body_html.lower()
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html


def test_the_users_aliases_are_never_people(pane, emulator, crm):
    seed_contoso(crm, CONTOSO)
    message = find_message(emulator, ADELE, "Plain: message to alias")
    user = pane()
    synced = user.post(f"/messages/{message['id']}/sync")
    assert synced.status_code == 200
    addresses = {p["address"] for p in synced.json["people"]}
    assert "adele@contoso.com" not in addresses  # learnt from Graph's proxyAddresses
    assert "diego.siciliani@tailspin.example" in addresses
