"""Messages, folders and master categories on the emulated Graph, over real HTTPS."""

from urllib.parse import unquote

from tests.support.emulated_graph import APP_ID, EMAIL_ID, IMMUTABLE, SYNC_STATE, Graph, assert_graph_error
from tests.support.identities import ADELE, ADELE_OID, CONTOSO, FABRIKAM, MEGAN

INBOX_SUBJECTS_NEWEST_FIRST = [
    "Plain: message to alias",
    "Plain: internal note from Megan",
    "Plain: order confirmation from Northwind",
    "Hard case: categorised Sync to CRM",
    "Hard case: attachments",
    "Hard case: hostile HTML body",
    "Hard case: same message in two mailboxes",
    "Hard case: 250 recipients",
    "Hard case: no From address",
    "Hard case: IDN domains",
    "Hard case: mixed-case addresses",
    "Hard case: display names with commas and quotes",
]


def test_inbox_lists_newest_first_in_pages_of_ten_with_a_working_next_link(adele):
    first = adele.get("/me/mailFolders/inbox/messages").json()
    assert len(first["value"]) == 10
    assert first["@odata.nextLink"].startswith(adele.emulator.graph_url + "/me/mailFolders/inbox/messages?")
    everything = adele.all_pages("/me/mailFolders/inbox/messages", params={"$select": "subject"})
    assert [m["subject"] for m in everything] == INBOX_SUBJECTS_NEWEST_FIRST


def test_select_returns_only_the_chosen_fields_plus_id_and_etag(adele):
    r = adele.get("/me/mailFolders/inbox/messages", params={"$top": "3", "$select": "subject,from"})
    assert r.status_code == 200
    for message in r.json()["value"]:
        assert set(message) == {"@odata.etag", "id", "subject", "from"}


def test_folder_paths_accept_graph_spellings(adele):
    forms = [
        "/me/mailFolders/inbox/messages",
        "/me/mailfolders/Inbox/messages",
        "/me/mailFolders('Inbox')/messages",
        f"/users/{ADELE}/mailFolders/inbox/messages",
        f"/users/{ADELE_OID}/MailFolders/INBOX/messages",
    ]
    ids = [tuple(m["id"] for m in adele.get(p, params={"$select": "id"}).json()["value"]) for p in forms]
    assert len(set(ids)) == 1 and ids[0]
    assert adele.get(f"/me/messages('{ids[0][0]}')").json()["id"] == ids[0][0]


def test_filter_and_orderby_follow_graphs_rules(adele):
    r = adele.get(
        "/me/mailFolders/inbox/messages",
        params={
            "$filter": "receivedDateTime ge 2026-11-09T00:00:00Z",
            "$orderby": "receivedDateTime desc",
            "$select": "subject,receivedDateTime",
        },
    )
    assert [m["subject"] for m in r.json()["value"]] == INBOX_SUBJECTS_NEWEST_FIRST[:5]
    # Graph refuses an $orderby property that does not lead the $filter.
    r = adele.get("/me/messages", params={"$filter": "isRead eq false", "$orderby": "receivedDateTime desc"})
    assert_graph_error(r, 400, "InefficientFilter")


def test_filters_on_addresses_and_categories_ignore_case(adele):
    r = adele.get(
        "/me/messages",
        params={"$filter": "from/emailAddress/address eq 'diego.siciliani@tailspin.example'", "$select": "subject"},
    )
    assert "Hard case: mixed-case addresses" in {m["subject"] for m in r.json()["value"]}
    r = adele.get("/me/messages", params={"$filter": "categories/any(c:c eq 'sync to crm')", "$select": "subject"})
    assert [m["subject"] for m in r.json()["value"]] == ["Hard case: categorised Sync to CRM"]
    r = adele.get(
        "/me/messages",
        params={"$filter": "toRecipients/any(r:r/emailAddress/address eq 'customer123@bigcustomer.example')"},
    )
    assert [m["subject"] for m in r.json()["value"]] == ["Hard case: 250 recipients"]
    r = adele.get("/me/messages", params={"$filter": "startswith(subject,'hard case: i') and not isRead eq true"})
    assert [m["subject"] for m in r.json()["value"]] == ["Hard case: IDN domains"]


def test_get_by_rest_or_immutable_id_and_prefer_header_picks_the_form(adele):
    rest = adele.find("Hard case: attachments")
    immutable = adele.find("Hard case: attachments", immutable=True)
    assert rest["id"] != immutable["id"]
    assert rest["id"].startswith("AAMkA") and immutable["id"].startswith("AAkAL")
    for any_id in (rest["id"], immutable["id"]):
        assert adele.get(f"/me/messages/{any_id}").json()["id"] == rest["id"]
        r = adele.get(f"/me/messages/{any_id}", headers=IMMUTABLE)
        assert r.json()["id"] == immutable["id"]
        assert r.headers["Preference-Applied"] == 'IdType="ImmutableId"'
    # Office.js shows the EWS form: the REST id with - -> / and _ -> +.
    ews = rest["id"].replace("-", "/").replace("_", "+")
    assert "ItemID=" in rest["webLink"]
    assert unquote(rest["webLink"].split("ItemID=")[1].split("&")[0]) == ews


def test_patch_sets_categories_and_merges_extended_properties_by_id(adele):
    message = adele.find("Plain: order confirmation from Northwind", immutable=True)
    r = adele.patch(
        f"/me/messages/{message['id']}",
        headers=IMMUTABLE,
        json={
            "categories": ["Red category", "Synced to CRM"],
            "singleValueExtendedProperties": [{"id": SYNC_STATE, "value": "pending"}],
        },
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["id"] == message["id"]
    assert updated["categories"] == ["Red category", "Synced to CRM"]
    assert updated["changeKey"] != message["changeKey"]
    assert updated["@odata.etag"] == f'W/"{updated["changeKey"]}"'
    assert updated["lastModifiedDateTime"] >= message["lastModifiedDateTime"]

    adele.patch(
        f"/me/messages/{message['id']}",
        json={
            "singleValueExtendedProperties": [
                {"id": SYNC_STATE.upper().replace("NAME", "Name"), "value": "synced"},
                {"id": EMAIL_ID, "value": "42"},
            ]
        },
    )
    expand = f"singleValueExtendedProperties($filter=id eq '{SYNC_STATE}' or id eq '{EMAIL_ID}')"
    got = adele.get(f"/me/messages/{message['id']}", params={"$select": "categories", "$expand": expand}).json()
    values = {p["id"].lower(): p["value"] for p in got["singleValueExtendedProperties"]}
    assert values == {SYNC_STATE.lower(): "synced", EMAIL_ID.lower(): "42"}
    assert got["categories"] == ["Red category", "Synced to CRM"]


def test_expand_leaves_out_properties_the_message_does_not_have(adele):
    message = adele.find("Hard case: IDN domains")
    got = adele.get(
        f"/me/messages/{message['id']}",
        params={"$expand": f"singleValueExtendedProperties($filter=id eq '{SYNC_STATE}')"},
    ).json()
    assert "singleValueExtendedProperties" not in got


def test_filter_on_extended_property_value_finds_marked_messages(adele):
    message = adele.find("Hard case: no From address")
    adele.patch(
        f"/me/messages/{message['id']}",
        json={"singleValueExtendedProperties": [{"id": SYNC_STATE, "value": "excluded"}]},
    )
    r = adele.get(
        "/me/messages",
        params={
            "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{SYNC_STATE}' and ep/value eq 'excluded')"
        },
    )
    assert [m["id"] for m in r.json()["value"]] == [message["id"]]


def test_patch_rejects_unknown_and_sent_only_properties(adele):
    message = adele.find("Plain: order confirmation from Northwind")
    assert_graph_error(adele.patch(f"/me/messages/{message['id']}", json={"colour": "red"}), 400, "RequestBodyRead")
    assert_graph_error(
        adele.patch(f"/me/messages/{message['id']}", json={"subject": "new"}),
        400,
        "ErrorInvalidPropertyUpdateSentMessage",
    )
    assert_graph_error(adele.patch(f"/me/messages/{message['id']}", json={"categories": "Red"}), 400)
    assert_graph_error(
        adele.patch(f"/me/messages/{message['id']}", data="not json", headers={"Content-Type": "application/json"}), 400
    )
    stale = adele.patch(
        f"/me/messages/{message['id']}", json={"isRead": True}, headers={"If-Match": 'W/"CQAAABYAAAAstale"'}
    )
    assert_graph_error(stale, 412, "ErrorIrresolvableConflict")


def test_bad_ids_are_malformed_or_not_found(adele, megan):
    assert_graph_error(adele.get("/me/messages/not-an-id"), 400, "ErrorInvalidIdMalformed")
    assert_graph_error(adele.get("/me/messages/AAMkAG!bad="), 400, "ErrorInvalidIdMalformed")
    adeles = adele.find("Hard case: attachments")
    # A well-formed id from another mailbox is simply not in this one.
    assert_graph_error(megan.get(f"/me/messages/{adeles['id']}"), 404, "ErrorItemNotFound")
    assert_graph_error(adele.get(f"/me/mailFolders/sentitems/messages/{adeles['id']}"), 404, "ErrorItemNotFound")


def test_malformed_odata_is_a_400_with_graphs_error_body(adele):
    for params in (
        {"$select": "nope"},
        {"$filter": "subject eq"},
        {"$filter": "subject eq 'x' and"},
        {"$top": "-1"},
        {"$top": "ten"},
        {"$orderby": "subject sideways"},
        {"$foo": "1"},
        {"$expand": "attachments(("},
        {"$filter": "unknownProp eq 1"},
        {"$filter": "subject xx 'a'"},
    ):
        assert_graph_error(adele.get("/me/messages", params=params), 400)
    assert_graph_error(adele.get("/me/nothingHere"), 400, "BadRequest")
    message = adele.find("Hard case: attachments")
    deep = "[" * 100000 + "]" * 100000
    assert_graph_error(
        adele.patch(f"/me/messages/{message['id']}", data=deep, headers={"Content-Type": "application/json"}), 400
    )
    assert_graph_error(adele.get("/me/messages", params={"$filter": "(" * 2000 + "isRead" + ")" * 2000}), 400)


def test_tokens_decide_which_mailbox_and_what(emulator, adele, contoso_app):
    assert_graph_error(
        emulator.session.get(emulator.graph_url + "/me/messages", timeout=10), 401, "InvalidAuthenticationToken"
    )
    assert_graph_error(adele.get(f"/users/{MEGAN}/messages"), 403, "ErrorAccessDenied")
    assert_graph_error(contoso_app.get("/me/messages"), 400)
    assert contoso_app.get(f"/users/{MEGAN}/mailFolders/inbox/messages").status_code == 200
    fabrikam_app = Graph(emulator, emulator.app_token(FABRIKAM))
    assert_graph_error(fabrikam_app.get(f"/users/{ADELE}/messages"), 404, "ErrorInvalidUser")


def test_delegated_token_without_mail_scope_is_denied(emulator):
    emulator.consent(CONTOSO, APP_ID, scopes=["User.Read", "Contacts.ReadWrite"], roles=[])
    limited = Graph(emulator, emulator.graph_token(ADELE))
    assert_graph_error(limited.get("/me/messages"), 403, "ErrorAccessDenied")
    assert_graph_error(limited.get("/me/outlook/masterCategories"), 403, "ErrorAccessDenied")
    assert limited.get("/me/contacts").status_code == 200


def test_hard_cases_come_back_as_graph_shapes(adele, megan):
    no_from = adele.find("Hard case: no From address")
    assert no_from["from"] is None and no_from["sender"] is None
    many = adele.get(f"/me/messages/{adele.find('Hard case: 250 recipients')['id']}").json()
    assert len(many["toRecipients"]) == 250
    commas = adele.find("Hard case: display names with commas and quotes")
    assert commas["from"]["emailAddress"]["name"] == "Robbins, Lynne"
    assert commas["ccRecipients"][0]["emailAddress"]["name"] == '"Dr. O\'Brien", Sean'
    idn = adele.find("Hard case: IDN domains")
    assert idn["from"]["emailAddress"]["address"] == "jan@bücher.example"
    sent = adele.find("Hard case: sent with Bcc", folder="sentitems")
    assert [b["emailAddress"]["address"] for b in sent["bccRecipients"]] == [
        "diego.siciliani@tailspin.example",
        "jan@bücher.example",
    ]
    hostile = adele.find("Hard case: hostile HTML body")
    assert hostile["body"]["contentType"] == "html" and "<script>" in hostile["body"]["content"]
    shared_a = adele.find("Hard case: same message in two mailboxes")
    shared_m = megan.find("Hard case: same message in two mailboxes")
    assert shared_a["internetMessageId"] == shared_m["internetMessageId"] == "<hc-shared@northwind.example>"
    assert shared_a["id"] != shared_m["id"]


def test_attachments_metadata_and_expand(adele):
    message = adele.find("Hard case: attachments")
    assert message["hasAttachments"] is True
    listed = adele.get(
        f"/me/messages/{message['id']}/attachments", params={"$select": "name,contentType,size,isInline"}
    ).json()["value"]
    assert [(a["name"], a["size"], a["isInline"]) for a in listed] == [
        ("Quote 2026-114.pdf", 48213, False),
        ('Pricing, "final".xlsx', 18311, False),
        ("logo.png", 2048, True),
    ]
    expanded = adele.get(
        f"/me/messages/{message['id']}", params={"$select": "subject", "$expand": "attachments($select=name,size)"}
    ).json()
    assert [a["name"] for a in expanded["attachments"]][0] == "Quote 2026-114.pdf"
    assert "contentBytes" not in expanded["attachments"][0]


def test_body_content_type_preference_turns_html_into_text(adele):
    message = adele.find("Hard case: hostile HTML body")
    r = adele.get(f"/me/messages/{message['id']}", headers={"Prefer": 'outlook.body-content-type="text"'})
    body = r.json()["body"]
    assert body["contentType"] == "text" and "<" not in body["content"] and "alert" not in body["content"]


def test_delete_and_move_change_what_is_found(adele):
    message = adele.find("Plain: message to alias", immutable=True)
    r = adele.post(f"/me/messages/{message['id']}/move", json={"destinationId": "archive"}, headers=IMMUTABLE)
    assert r.status_code == 201
    assert r.json()["id"] == message["id"]  # immutable ids survive a move
    archive = adele.get("/me/mailFolders/archive").json()
    assert r.json()["parentFolderId"] == archive["id"]
    assert adele.delete(f"/me/messages/{message['id']}").status_code == 204
    assert_graph_error(adele.get(f"/me/messages/{message['id']}"), 404, "ErrorItemNotFound")


def test_mail_folders_by_id_and_well_known_name(adele):
    folders = adele.get("/me/mailFolders").json()["value"]
    names = {f["displayName"]: f for f in folders}
    assert {"Inbox", "Sent Items", "Drafts", "Deleted Items", "Archive"} <= set(names)
    inbox = adele.get("/me/mailFolders/inbox").json()
    assert inbox["id"] == names["Inbox"]["id"]
    assert inbox["totalItemCount"] == 12 and inbox["childFolderCount"] == 1
    assert adele.get(f"/me/mailFolders/{inbox['id']}").json()["displayName"] == "Inbox"
    children = adele.get("/me/mailFolders/inbox/childFolders").json()["value"]
    assert [c["displayName"] for c in children] == ["Projects"]
    assert_graph_error(adele.get("/me/mailFolders/nosuchfolder"), 400, "ErrorInvalidIdMalformed")


def test_master_categories_list_create_and_refuse_duplicates(adele):
    names = [c["displayName"] for c in adele.get("/me/outlook/masterCategories").json()["value"]]
    assert names == ["Red category", "Blue category"]
    r = adele.post("/me/outlook/masterCategories", json={"displayName": "Synced to CRM", "color": "preset4"})
    assert r.status_code == 201
    assert set(r.json()) >= {"id", "displayName", "color"} and r.json()["color"] == "preset4"
    assert_graph_error(adele.post("/me/outlook/masterCategories", json={"displayName": "synced to crm"}), 409)
    assert_graph_error(adele.post("/me/outlook/masterCategories", json={"displayName": "X", "color": "pink"}), 400)
    names = [c["displayName"] for c in adele.get("/me/outlook/masterCategories").json()["value"]]
    assert names == ["Red category", "Blue category", "Synced to CRM"]


def test_app_token_reaches_any_mailbox_of_its_tenant(contoso_app):
    assert contoso_app.get("~/outlook/masterCategories").status_code == 200
    message = contoso_app.find("Hard case: attachments")
    r = contoso_app.patch(f"~/messages/{message['id']}", json={"categories": ["Synced to CRM"]})
    assert r.status_code == 200 and r.json()["categories"] == ["Synced to CRM"]


def test_me_returns_the_signed_in_user(adele):
    me = adele.get("/me").json()
    assert me["id"] == ADELE_OID and me["userPrincipalName"] == ADELE and me["displayName"] == "Adele Vance"


def test_deliver_message_shows_up_in_the_folder(emulator, adele):
    delivered = emulator.deliver(
        ADELE,
        {
            "subject": "Delivered: fresh mail",
            "from": {"emailAddress": {"name": "Lynne", "address": "l@n.example"}},
            "toRecipients": [{"emailAddress": {"name": "Adele Vance", "address": ADELE}}],
            "body": {"contentType": "text", "content": "hello"},
        },
    )
    assert delivered["subject"] == "Delivered: fresh mail" and delivered["id"].startswith("AAMkA")
    first = adele.get("/me/mailFolders/inbox/messages", params={"$top": "1", "$select": "subject"}).json()
    assert first["value"][0]["id"] == delivered["id"]


def test_links_point_back_to_the_host_the_client_called(emulator, adele):
    base = emulator.graph_url.replace("://localhost:", "://127.0.0.1:")
    r = emulator.session.get(
        base + "/me/mailFolders/inbox/messages", timeout=30, headers={"Authorization": f"Bearer {adele.token}"}
    )
    assert r.json()["@odata.nextLink"].startswith(base + "/me/mailFolders/inbox/messages?")
    assert r.json()["@odata.context"].startswith(base + "/$metadata#")


def test_replies_share_the_conversation_and_bad_deliveries_are_refused(emulator, adele):
    original = emulator.deliver(ADELE, {"subject": "Thread: pricing"})
    reply = emulator.deliver(ADELE, {"subject": "RE: Odp: Thread: pricing"})
    assert reply["conversationId"] == original["conversationId"]
    for bad in ({"body": "plain string"}, {"toRecipients": "a@b.example"}, {"receivedDateTime": "yesterday"}):
        r = emulator.session.post(
            f"{emulator.base_url}/_emulator/messages",
            timeout=30,
            json={"upn": ADELE, "folder": "inbox", "message": bad},
        )
        assert r.status_code == 400, (bad, r.text)


def test_every_change_gives_a_message_a_new_etag_and_a_stale_one_is_refused(adele):
    """Graph's optimistic concurrency on a message, as documented: `@odata.etag` is
    W/"<changeKey>", changeKey changes with every change of the item, and a PATCH with
    `If-Match` answers 412 ErrorIrresolvableConflict once it no longer names the item's
    current version (`*` always does)."""
    message = adele.find("Plain: order confirmation from Northwind")
    path = f"/me/messages/{message['id']}"
    read = adele.get(path, params={"$select": "categories"}).json()
    assert read["@odata.etag"] == f'W/"{adele.get(path).json()["changeKey"]}"'

    # The etag just read matches (as the weak etag, the bare changeKey, or in a list).
    for form in (lambda etag: etag, lambda etag: etag[2:].strip('"'), lambda etag: f'W/"other", {etag}'):
        current = adele.get(path, params={"$select": "categories"}).json()["@odata.etag"]
        answer = adele.patch(path, json={"isRead": True}, headers={"If-Match": form(current)})
        assert answer.status_code == 200, answer.text
        assert answer.json()["@odata.etag"] != current  # the write itself is a change

    # Outlook changes the message (a category): the etag read before is stale.
    before = adele.get(path, params={"$select": "categories"}).json()
    changed = adele.patch(path, json={"categories": ["Red category"]})
    assert changed.status_code == 200 and changed.json()["@odata.etag"] != before["@odata.etag"]
    stale = adele.patch(path, json={"categories": ["Synced to CRM"]}, headers={"If-Match": before["@odata.etag"]})
    assert "change key" in assert_graph_error(stale, 412, "ErrorIrresolvableConflict")["message"]
    assert adele.get(path, params={"$select": "categories"}).json()["categories"] == ["Red category"]  # unchanged

    # A move is a change too; `*` matches whatever the version.
    moved = adele.post(f"{path}/move", json={"destinationId": "archive"})
    assert moved.status_code == 201 and moved.json()["@odata.etag"] != changed.json()["@odata.etag"]
    moved_path = f"/me/messages/{moved.json()['id']}"
    refused = adele.patch(moved_path, json={"isRead": False}, headers={"If-Match": changed.json()["@odata.etag"]})
    assert_graph_error(refused, 412, "ErrorIrresolvableConflict")
    assert adele.patch(moved_path, json={"isRead": False}, headers={"If-Match": "*"}).status_code == 200


def test_a_conditional_patch_inside_a_batch_is_checked_per_part(adele):
    message = adele.find("Plain: order confirmation from Northwind")
    current = adele.get(f"/me/messages/{message['id']}", params={"$select": "id"}).json()["@odata.etag"]
    parts = [
        {
            "id": str(n),
            "method": "PATCH",
            "url": f"/me/messages/{message['id']}",
            "headers": {"Content-Type": "application/json", "If-Match": current},
            "body": {"isRead": bool(n)},
        }
        for n in range(2)
    ]
    # Two writes from one read: the first lands, the second finds the message changed.
    answer = adele.post("/$batch", json={"requests": [parts[0], {**parts[1], "dependsOn": ["0"]}]})
    assert answer.status_code == 200
    statuses = {r["id"]: r["status"] for r in answer.json()["responses"]}
    assert statuses == {"0": 200, "1": 412}
