"""JSON batching on the emulated Graph: 20 max, per-request status, dependsOn, throttling per request."""

from tests.support.emulated_graph import IMMUTABLE, SYNC_STATE, assert_graph_error
from tests.support.identities import ADELE

JSON = {"Content-Type": "application/json"}


def batch(graph, requests, headers=None):
    r = graph.post("/$batch", json={"requests": requests}, headers=headers or {})
    assert r.status_code == 200, r.text
    return {resp["id"]: resp for resp in r.json()["responses"]}


def test_each_request_gets_its_own_status_headers_and_body(adele):
    message = adele.find("Hard case: attachments")
    out = batch(
        adele,
        [
            {"id": "1", "method": "GET", "url": f"/me/messages/{message['id']}?$select=subject"},
            {"id": "2", "method": "GET", "url": "/me/messages/not-an-id"},
            {"id": "3", "method": "GET", "url": "me/mailFolders/inbox?$select=displayName"},
            {
                "id": "4",
                "method": "PATCH",
                "url": f"/me/messages/{message['id']}",
                "headers": JSON,
                "body": {
                    "categories": ["Synced to CRM"],
                    "singleValueExtendedProperties": [{"id": SYNC_STATE, "value": "synced"}],
                },
            },
        ],
    )
    assert out["1"]["status"] == 200 and out["1"]["body"]["subject"] == "Hard case: attachments"
    assert out["1"]["headers"]["Content-Type"].startswith("application/json")
    assert out["2"]["status"] == 400 and out["2"]["body"]["error"]["code"] == "ErrorInvalidIdMalformed"
    assert out["3"]["body"]["displayName"] == "Inbox"
    assert out["4"]["status"] == 200 and out["4"]["body"]["categories"] == ["Synced to CRM"]
    assert adele.get(f"/me/messages/{message['id']}").json()["categories"] == ["Synced to CRM"]


def test_more_than_twenty_requests_is_a_400(adele):
    requests = [{"id": str(i), "method": "GET", "url": "/me/mailFolders/inbox"} for i in range(21)]
    assert_graph_error(adele.post("/$batch", json={"requests": requests}), 400)
    assert adele.post("/$batch", json={"requests": requests[:20]}).status_code == 200


def test_malformed_batches_are_400(adele):
    assert_graph_error(adele.post("/$batch", json={"requests": "no"}), 400)
    dup = [{"id": "a", "method": "GET", "url": "/me"}, {"id": "A", "method": "GET", "url": "/me"}]
    assert_graph_error(adele.post("/$batch", json={"requests": dup}), 400)
    unknown_dep = [{"id": "1", "method": "GET", "url": "/me", "dependsOn": ["9"]}]
    assert_graph_error(adele.post("/$batch", json={"requests": unknown_dep}), 400)


def test_failed_dependency_is_424_and_order_follows_depends_on(adele):
    out = batch(
        adele,
        [
            {"id": "3", "method": "GET", "url": "/me", "dependsOn": ["2"]},
            {"id": "1", "method": "GET", "url": "/me/messages/AAMkAGnotfound"},
            {"id": "2", "method": "GET", "url": "/me/mailFolders/inbox", "dependsOn": ["1"]},
        ],
    )
    assert out["1"]["status"] in (400, 404)
    assert out["2"]["status"] == 424 and out["3"]["status"] == 424
    assert "error" in out["2"]["body"]


def test_inner_request_with_body_needs_content_type(adele):
    message = adele.find("Hard case: attachments")
    out = batch(
        adele,
        [
            {"id": "1", "method": "PATCH", "url": f"/me/messages/{message['id']}", "body": {"isRead": True}},
            {"id": "2", "method": "GET", "url": "https://graph.microsoft.com/v1.0/me"},
            {"id": "3", "method": "GET", "url": "/me"},
        ],
    )
    assert out["1"]["status"] == 400 and out["2"]["status"] == 400 and out["3"]["status"] == 200


def test_prefer_immutable_id_applies_from_outer_or_inner_headers(adele):
    message = adele.find("Hard case: attachments", immutable=True)
    out = batch(
        adele, [{"id": "1", "method": "GET", "url": f"/me/messages/{message['id']}?$select=id"}], headers=IMMUTABLE
    )
    assert out["1"]["body"]["id"] == message["id"]
    out = batch(
        adele,
        [
            {"id": "1", "method": "GET", "url": f"/me/messages/{message['id']}?$select=id", "headers": IMMUTABLE},
            {"id": "2", "method": "GET", "url": f"/me/messages/{message['id']}?$select=id"},
        ],
    )
    assert out["1"]["body"]["id"] == message["id"]
    assert out["2"]["body"]["id"].startswith("AAMkA")


def test_throttling_hits_single_requests_with_retry_after(emulator, adele):
    message = adele.find("Hard case: attachments")
    emulator.fault(path=r"/v1\.0/me/mailFolders/inbox$", kind="429", retry_after=7, count=1)
    emulator.clear_requests()
    out = batch(
        adele,
        [
            {"id": "1", "method": "GET", "url": "/me/mailFolders/inbox"},
            {"id": "2", "method": "GET", "url": f"/me/messages/{message['id']}?$select=subject"},
            {"id": "3", "method": "GET", "url": "/me/mailFolders/inbox"},
        ],
    )
    assert out["1"]["status"] == 429 and out["1"]["headers"]["Retry-After"] == "7"
    assert out["1"]["body"]["error"]["code"]
    assert out["2"]["status"] == 200 and out["3"]["status"] == 200
    inner = [r for r in emulator.requests() if r["in_batch"]]
    assert [r["status"] for r in inner] == [429, 200, 200]
    assert inner[0]["throttled"] and inner[0]["mailbox"] == ADELE
    assert len({r["batch_id"] for r in inner}) == 1


def test_app_only_batch_on_users_paths(contoso_app):
    out = batch(
        contoso_app,
        [
            {"id": "1", "method": "GET", "url": f"/users/{ADELE}/mailFolders/inbox/messages?$top=2&$select=subject"},
            {"id": "2", "method": "GET", "url": f"/users/{ADELE}/outlook/masterCategories"},
        ],
    )
    assert out["1"]["status"] == 200 and len(out["1"]["body"]["value"]) == 2
    assert out["2"]["status"] == 200
