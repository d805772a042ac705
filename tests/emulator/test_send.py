"""POST /_emulator/messages/send: a user sends a message, as Outlook's Send does (the
Outlook-like page's Send and the filing-from-compose tests use it)."""

from __future__ import annotations

import json

from server.graph import properties as props
from tests.support.identities import ADELE, MEGAN, PAT

CUSTOM = props.custom_properties_id("2d7f9c4e-5a81-4b36-9e0d-8c1f3a6b7e52")


def test_send_keeps_categories_and_custom_properties_on_the_senders_copy_only(emulator):
    value = json.dumps({"crm_case_id": 7})
    answer = emulator.send(
        ADELE,
        {
            "subject": "Offer",
            "toRecipients": [{"emailAddress": {"address": MEGAN}}, {"emailAddress": {"address": PAT}}],
            "ccRecipients": [{"emailAddress": {"address": "jan@fabrikam.example"}}],
            "categories": ["Sync to CRM"],
            "singleValueExtendedProperties": [{"id": CUSTOM, "value": value}],
        },
    )
    sent = answer["sent"]
    assert sent["from"]["emailAddress"]["address"].lower() == ADELE and sent["isDraft"] is False
    assert [d["upn"] for d in answer["delivered"]] == [MEGAN]  # Pat is in another tenant

    read = emulator.graph(
        "GET",
        f"/me/messages/{sent['id']}",
        emulator.graph_token(ADELE),
        params={"$select": "categories,parentFolderId", "$expand": props.expand_filter(CUSTOM)},
    ).json()
    assert read["categories"] == ["Sync to CRM"]
    assert props.custom_properties(read, CUSTOM) == {"crm_case_id": 7}
    folder = emulator.graph("GET", "/me/mailFolders/sentitems", emulator.graph_token(ADELE)).json()
    assert read["parentFolderId"] == folder["id"]

    got = emulator.graph(
        "GET",
        f"/me/messages/{answer['delivered'][0]['id']}",
        emulator.graph_token(MEGAN),
        params={"$select": "categories,internetMessageId,conversationId", "$expand": props.expand_filter(CUSTOM)},
    ).json()
    assert got["categories"] == [] and props.custom_properties(got, CUSTOM) == {}
    assert (got["internetMessageId"], got["conversationId"]) == (sent["internetMessageId"], sent["conversationId"])


def test_send_refuses_bad_input_in_the_admin_error_shape(emulator):
    url = f"{emulator.base_url}/_emulator/messages/send"
    for body, status in (
        ({"upn": ADELE, "message": "text"}, 400),
        ({"upn": ADELE, "message": {"toRecipients": "x"}}, 400),
        ({"upn": ADELE, "message": {"singleValueExtendedProperties": [{"id": "bad", "value": "1"}]}}, 400),
        ({"upn": "nobody@contoso.com", "message": {}}, 404),
    ):
        response = emulator.session.post(url, json=body, timeout=30)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["code"]
