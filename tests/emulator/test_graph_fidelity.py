"""The emulator against Microsoft's documented Graph examples.

Each test replays a request in the form the Graph documentation shows it (same
path spelling, query encoding, headers and body) and checks that the answer has
the documented shape: the same fields with the same JSON types. Sources are
the learn.microsoft.com pages named in each test (microsoft-graph-docs-contrib).
"""

from datetime import UTC, datetime, timedelta

from tests.support.emulated_graph import IMMUTABLE, assert_graph_error
from tests.support.identities import ADELE, CONTOSO

S, B, L, D, N = str, bool, list, dict, type(None)

# api-reference/v1.0/api/message-get.md, "Response 1" (the full default property set).
DOCUMENTED_MESSAGE = {
    "@odata.context": S,
    "@odata.etag": S,
    "id": S,
    "createdDateTime": S,
    "lastModifiedDateTime": S,
    "changeKey": S,
    "categories": L,
    "receivedDateTime": S,
    "sentDateTime": S,
    "hasAttachments": B,
    "internetMessageId": S,
    "subject": S,
    "bodyPreview": S,
    "importance": S,
    "parentFolderId": S,
    "conversationId": S,
    "isDeliveryReceiptRequested": B,
    "isReadReceiptRequested": B,
    "isRead": B,
    "isDraft": B,
    "webLink": S,
    "inferenceClassification": S,
    "body": D,
    "sender": (D, N),
    "from": (D, N),  # null in the ext-property doc
    "toRecipients": L,
    "ccRecipients": L,
    "bccRecipients": L,
    "replyTo": L,
    "flag": D,
}
# api-reference/v1.0/api/user-post-contacts.md, the response to creating "Pavel Bansky".
DOCUMENTED_CONTACT = {
    "@odata.context": S,
    "@odata.etag": S,
    "id": S,
    "createdDateTime": S,
    "lastModifiedDateTime": S,
    "changeKey": S,
    "categories": L,
    "parentFolderId": S,
    "birthday": N,
    "fileAs": S,
    "displayName": S,
    "givenName": S,
    "initials": N,
    "middleName": N,
    "nickName": N,
    "surname": S,
    "title": N,
    "yomiGivenName": N,
    "yomiSurname": N,
    "yomiCompanyName": N,
    "generation": N,
    "imAddresses": L,
    "jobTitle": N,
    "companyName": N,
    "department": N,
    "officeLocation": N,
    "profession": N,
    "businessHomePage": N,
    "assistantName": N,
    "manager": N,
    "homePhones": L,
    "mobilePhone": N,
    "businessPhones": L,
    "spouseName": N,
    "personalNotes": S,
    "children": L,
    "emailAddresses": L,
    "homeAddress": D,
    "businessAddress": D,
    "otherAddress": D,
}
# api-reference/v1.0/api/subscription-post-subscriptions.md, the 201 response.
DOCUMENTED_SUBSCRIPTION = {
    "@odata.context": S,
    "id": S,
    "resource": S,
    "applicationId": S,
    "changeType": S,
    "clientState": S,
    "notificationUrl": S,
    "expirationDateTime": S,
    "creatorId": S,
    "latestSupportedTlsVersion": S,
    "lifecycleNotificationUrl": (S, N),
    "includeResourceData": B,
    "encryptionCertificate": N,
    "encryptionCertificateId": N,
    "notificationQueryOptions": N,
    "notificationUrlAppId": N,
}


def assert_shape(obj: dict, documented: dict):
    """Every documented field is present with the documented JSON type."""
    missing = set(documented) - set(obj)
    assert not missing, f"missing documented fields: {sorted(missing)}"
    for name, kind in documented.items():
        assert isinstance(obj[name], kind), f"{name}: {type(obj[name]).__name__}, documented {kind}"


def test_get_message_answers_the_documented_property_set(adele):
    # message-get.md: GET https://graph.microsoft.com/v1.0/me/messages/{id}
    message_id = adele.find("Plain: order confirmation from Northwind")["id"]
    r = adele.get(f"/me/messages/{message_id}")
    assert r.status_code == 200
    message = r.json()
    assert_shape(message, DOCUMENTED_MESSAGE)
    assert message["@odata.context"].endswith("/messages/$entity")
    assert message["@odata.etag"] == f'W/"{message["changeKey"]}"'
    assert message["changeKey"].startswith("CQAAABYAAA")
    assert set(message["body"]) == {"contentType", "content"}
    assert set(message["from"]["emailAddress"]) == {"name", "address"}
    assert message["flag"] == {"flagStatus": "notFlagged"}
    assert message["webLink"].startswith("https://outlook.office365.com/owa/?ItemID=")
    for stamp in ("createdDateTime", "lastModifiedDateTime", "receivedDateTime", "sentDateTime"):
        datetime.strptime(message[stamp], "%Y-%m-%dT%H:%M:%SZ")


def test_documented_extended_property_requests(adele):
    # singlevaluelegacyextendedproperty-get.md, requests 1-4, with the docs' URL encoding.
    prop = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name Color"
    message_id = adele.find("Hard case: attachments")["id"]
    adele.patch(f"/me/messages/{message_id}", json={"singleValueExtendedProperties": [{"id": prop, "value": "Green"}]})
    base = adele.emulator.graph_url
    auth = {"Authorization": f"Bearer {adele.token}"}
    get = adele.emulator.session.get

    url = (
        f"{base}/me/messages/{message_id}?$expand=singleValueExtendedProperties($filter=id%20eq%20"
        f"'String%20{{66f5a359-4659-4830-9070-00047ec6ac6e}}%20Name%20Color')"
    )
    expanded = get(url, headers=auth, timeout=30).json()
    assert expanded["singleValueExtendedProperties"] == [{"id": prop, "value": "Green"}]
    assert_shape(expanded, DOCUMENTED_MESSAGE)

    url = (
        f"{base}/me/messages?$filter=singleValueExtendedProperties%2FAny(ep%3A%20ep%2Fid%20eq%20'String%20"
        f"{{66f5a359-4659-4830-9070-00047ec6ac6e}}%20Name%20Color'%20and%20ep%2Fvalue%20eq%20'Green')"
    )
    listed = get(url, headers=auth, timeout=30).json()["value"]
    assert [m["id"] for m in listed] == [message_id]
    assert "singleValueExtendedProperties" not in listed[0]  # "The response does not include the property"

    url = (
        f"{base}/Me/messages?$filter=singleValueExtendedProperties/any(ep:ep/Id eq '{prop}' "
        f"and contains(ep/Value, 'green'))"
    )
    assert [m["id"] for m in get(url, headers=auth, timeout=30).json()["value"]] == [message_id]

    url = (
        f"{base}/me/messages?$filter=singleValueExtendedProperties/any(ep:ep/id eq 'Integer "
        f"{{66f5a359-4659-4830-9070-00047ec6ac6e}} Name Pallete' and cast(ep/value, Edm.Int32) eq 12)"
    )
    r = get(url, headers=auth, timeout=30)
    assert r.status_code == 200 and r.json()["value"] == []


def test_documented_message_update_of_a_draft(emulator, adele):
    # message-update.md: subject and body are updatable only while isDraft is true.
    draft = emulator.deliver(ADELE, {"subject": "Fidelity: draft", "isDraft": True}, folder="drafts")
    r = adele.patch(
        f"/me/messages/{draft['id']}",
        json={
            "subject": "subject-value",
            "body": {"contentType": "", "content": "content-value"},
            "inferenceClassification": "other",
        },
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert_shape(updated, DOCUMENTED_MESSAGE)
    assert updated["subject"] == "subject-value" and updated["inferenceClassification"] == "other"


def test_documented_delta_round(adele):
    # delta-query-messages.md, example 1: $select=subject,sender,isRead with Prefer: odata.maxpagesize=2,
    # path spelt /me/mailfolders/{id}/messages/delta.
    inbox_id = adele.get("/me/mailFolders/inbox").json()["id"]
    auth = {"Authorization": f"Bearer {adele.token}", "Prefer": "odata.maxpagesize=2"}
    url = f"{adele.emulator.graph_url}/me/mailfolders/{inbox_id}/messages/delta?$select=subject,sender,isRead"
    pages = []
    while url:
        body = adele.emulator.session.get(url, headers=auth, timeout=30).json()
        pages.append(body)
        assert body["@odata.context"].endswith("/$metadata#Collection(message)")
        for item in body["value"]:
            assert item["@odata.type"] == "#microsoft.graph.message"
            assert_shape(item, {"@odata.etag": S, "subject": S, "isRead": B, "sender": (D, N), "id": S})
        url = body.get("@odata.nextLink")
        if url:
            assert "/messages/delta?$skiptoken=" in url
    assert "/messages/delta?$deltatoken=" in pages[-1]["@odata.deltaLink"]
    assert len(pages) == 6 and all(len(p["value"]) == 2 for p in pages)

    gone = adele.find("Hard case: IDN domains")
    adele.delete(f"/me/messages/{gone['id']}")
    body = adele.emulator.session.get(pages[-1]["@odata.deltaLink"], headers=auth, timeout=30).json()
    assert body["value"] == [
        {"@odata.type": "#microsoft.graph.message", "id": gone["id"], "@removed": {"reason": "deleted"}}
    ]


def test_documented_batch_shapes(adele):
    # json-batching.md: relative URLs with or without a leading slash, a body with its Content-Type header,
    # and responses carrying id, status, headers and body.
    message_id = adele.find("Hard case: attachments")["id"]
    r = adele.post(
        "/$batch",
        headers={"Accept": "application/json"},
        json={
            "requests": [
                {"id": "1", "method": "GET", "url": "/me/mailFolders/inbox"},
                {"id": "2", "method": "GET", "url": "me/messages?$select=id,subject&$filter=isRead eq false&$top=2"},
                {
                    "id": "3",
                    "url": f"/me/messages/{message_id}",
                    "method": "PATCH",
                    "body": {"isRead": True},
                    "headers": {"Content-Type": "application/json"},
                },
                {"id": "4", "method": "GET", "url": "/me/messages/{not-a-message}"},
            ]
        },
    )
    assert r.status_code == 200
    responses = {x["id"]: x for x in r.json()["responses"]}
    for resp in responses.values():
        assert set(resp) >= {"id", "status", "headers", "body"}
        assert isinstance(resp["status"], int) and isinstance(resp["headers"], dict)
    assert responses["1"]["status"] == 200 and responses["2"]["status"] == 200
    assert responses["2"]["body"]["@odata.context"].endswith("/messages(id,subject)")
    assert responses["3"]["status"] == 200 and responses["3"]["body"]["isRead"] is True
    assert set(responses["4"]["body"]["error"]) == {"code", "message", "innerError"}


def test_documented_contact_create_and_find_by_email(adele):
    # user-post-contacts.md request body, then user-list-contacts.md's filter on emailAddresses.
    r = adele.post(
        "/me/contacts",
        json={
            "givenName": "Pavel",
            "surname": "Bansky",
            "emailAddresses": [{"address": "pavelb@fabrikam.onmicrosoft.com", "name": "Pavel Bansky"}],
            "businessPhones": ["+1 732 555 0102"],
        },
    )
    assert r.status_code == 201
    created = r.json()
    assert_shape(created, DOCUMENTED_CONTACT)
    assert created["displayName"] == "Pavel Bansky" and created["businessPhones"] == ["+1 732 555 0102"]
    found = adele.get("/me/contacts?$filter=emailAddresses/any(a:a/address eq 'pavelb@fabrikam.onmicrosoft.com')")
    assert [c["id"] for c in found.json()["value"]] == [created["id"]]


def test_documented_subscription_and_validation_handshake(adele, receiver):
    # subscription-post-subscriptions.md (mail example) and change-notifications-delivery-webhooks.md:
    # Graph POSTs notificationUrl?validationToken=... and expects the token back as text/plain.
    expiry = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    r = adele.post(
        "/subscriptions",
        json={
            "changeType": "created",
            "notificationUrl": receiver.url + "/api/send/myNotifyClient",
            "resource": "me/mailFolders('Inbox')/messages",
            "expirationDateTime": expiry,
            "clientState": "secretClientValue",
            "latestSupportedTlsVersion": "v1_2",
        },
    )
    assert r.status_code == 201, r.text
    sub = r.json()
    assert_shape(sub, DOCUMENTED_SUBSCRIPTION)
    assert sub["@odata.context"].endswith("/$metadata#subscriptions/$entity")
    assert receiver.validations and receiver.validations[0].startswith("Validation: ")

    adele.emulator.deliver(ADELE, {"subject": "Fidelity: notified"})
    note = receiver.wait_for(lambda n: n["changeType"] == "created")[0]
    # change-notifications-delivery-webhooks.md: the change notification's fields.
    assert_shape(
        note,
        {
            "subscriptionId": S,
            "subscriptionExpirationDateTime": S,
            "changeType": S,
            "resource": S,
            "resourceData": D,
            "clientState": S,
            "tenantId": S,
        },
    )
    assert set(note["resourceData"]) == {"@odata.type", "@odata.id", "@odata.etag", "id"}
    assert note["clientState"] == "secretClientValue" and note["tenantId"] == CONTOSO


def test_documented_translate_exchange_ids(adele):
    # user-translateexchangeids.md: restId -> restImmutableEntryId, answered as convertIdResult values.
    rest = adele.find("Hard case: attachments")["id"]
    immutable = adele.find("Hard case: attachments", immutable=True)["id"]
    r = adele.post(
        "/me/translateExchangeIds",
        json={"inputIds": [rest], "sourceIdType": "restId", "targetIdType": "restImmutableEntryId"},
    )
    assert r.status_code == 200
    assert r.json()["value"] == [{"sourceId": rest, "targetId": immutable}]
    ews = rest.replace("-", "/").replace("_", "+")
    back = adele.post(
        "/me/translateExchangeIds", json={"inputIds": [ews], "sourceIdType": "ewsId", "targetIdType": "restId"}
    ).json()["value"]
    assert back == [{"sourceId": ews, "targetId": rest}]
    entry = adele.post(
        "/me/translateExchangeIds",
        json={"inputIds": [immutable], "sourceIdType": "restImmutableEntryId", "targetIdType": "entryId"},
    ).json()
    target = entry["value"][0]["targetId"]
    assert target[-1] in "012" and "+" not in target and "/" not in target and "=" not in target


def test_documented_master_category_create(adele):
    # outlookuser-post-mastercategories.md
    r = adele.post("/me/outlook/masterCategories", json={"displayName": "Project expenses", "color": "preset9"})
    assert r.status_code == 201
    assert_shape(r.json(), {"@odata.context": S, "id": S, "displayName": S, "color": S})
    assert r.json()["color"] == "preset9"


def test_documented_error_body(adele):
    # concepts/errors.md: {"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}
    r = adele.get("/me/messages/AAMkAGnotreallyanid=", headers={"client-request-id": "my-correlation-id"})
    error = assert_graph_error(r, 400, "ErrorInvalidIdMalformed")
    assert error["innerError"]["client-request-id"] == "my-correlation-id"
    assert error["innerError"]["request-id"] == r.headers["request-id"]
    datetime.strptime(error["innerError"]["date"], "%Y-%m-%dT%H:%M:%S")


def test_documented_immutable_id_header(adele):
    # outlook-immutable-id.md: Prefer: IdType="ImmutableId" on any request with ids.
    r = adele.get("/me/mailFolders/inbox/messages?$select=id&$top=1", headers=IMMUTABLE)
    assert r.json()["value"][0]["id"].startswith("AAkAL")
