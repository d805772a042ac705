"""Message delta on the emulated Graph: rounds, pages, tokens, @removed, and expired state (410)."""

from tests.support.emulated_graph import IMMUTABLE, assert_graph_error
from tests.support.identities import ADELE

INBOX = "/me/mailFolders/inbox/messages/delta"


def run_round(graph, url=None, page_size=4, headers=None, params=None):
    """Follow one delta round to its deltaLink; returns (items, deltaLink, pages)."""
    headers = {"Prefer": f"odata.maxpagesize={page_size}", **(headers or {})}
    if url is None:
        r = graph.get(INBOX, headers=headers, params=params)
    else:
        r = graph.emulator.session.get(url, headers={"Authorization": f"Bearer {graph.token}", **headers}, timeout=30)
    items, pages = [], []
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["@odata.context"].endswith("$metadata#Collection(message)")
        assert len(body["value"]) <= page_size
        pages.append(body)
        items += body["value"]
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return items, body["@odata.deltaLink"], pages
        assert "$skiptoken=" in body["@odata.nextLink"]
        r = graph.emulator.session.get(
            body["@odata.nextLink"], timeout=30, headers={"Authorization": f"Bearer {graph.token}", **headers}
        )


def test_first_round_pages_through_the_whole_folder(adele):
    items, delta_link, pages = run_round(adele, params={"$select": "subject,isRead"})
    assert len(items) == 12 and len(pages) == 3
    first = adele.get(INBOX, headers={"Prefer": "odata.maxpagesize=4"})
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=4"
    assert "$deltatoken=" in delta_link
    for item in items:
        assert item["@odata.type"] == "#microsoft.graph.message"
        assert set(item) == {"@odata.type", "@odata.etag", "id", "subject", "isRead"}
    assert len({i["id"] for i in items}) == 12


def test_next_round_reports_only_what_changed(emulator, adele):
    _, delta_link, _ = run_round(adele, params={"$select": "subject,categories"})
    items, delta_link, _ = run_round(adele, delta_link)
    assert items == []

    updated = adele.find("Hard case: IDN domains")
    adele.patch(f"/me/messages/{updated['id']}", json={"categories": ["Sync to CRM"]})
    deleted = adele.find("Hard case: no From address")
    adele.delete(f"/me/messages/{deleted['id']}")
    moved = adele.find("Plain: message to alias")
    adele.post(f"/me/messages/{moved['id']}/move", json={"destinationId": "archive"})
    new = emulator.deliver(ADELE, {"subject": "Delta: brand new", "body": {"contentType": "text", "content": "x"}})

    items, delta_link, _ = run_round(adele, delta_link)
    removed = {i["id"]: i for i in items if "@removed" in i}
    changed = {i["id"]: i for i in items if "@removed" not in i}
    assert removed == {
        deleted["id"]: {
            "@odata.type": "#microsoft.graph.message",
            "id": deleted["id"],
            "@removed": {"reason": "deleted"},
        },
        moved["id"]: {"@odata.type": "#microsoft.graph.message", "id": moved["id"], "@removed": {"reason": "deleted"}},
    }
    assert set(changed) == {updated["id"], new["id"]}
    assert changed[updated["id"]]["categories"] == ["Sync to CRM"]  # $select carried by the token
    assert set(changed[new["id"]]) == {"@odata.type", "@odata.etag", "id", "subject", "categories"}
    assert run_round(adele, delta_link)[0] == []


def test_moved_message_appears_in_the_target_folders_delta(adele):
    r = adele.get("/me/mailFolders/archive/messages/delta")
    archive_link = r.json()["@odata.deltaLink"]
    assert r.json()["value"] == []
    moved = adele.find("Plain: message to alias", immutable=True)
    adele.post(f"/me/messages/{moved['id']}/move", json={"destinationId": "archive"})
    items, _, _ = run_round(adele, archive_link, headers=IMMUTABLE)
    assert [i["id"] for i in items] == [moved["id"]]


def test_immutable_ids_in_delta_follow_the_prefer_header(adele):
    items, _, _ = run_round(adele, page_size=20, headers=IMMUTABLE)
    assert all(i["id"].startswith("AAkAL") for i in items)
    items, _, _ = run_round(adele, page_size=20)
    assert all(i["id"].startswith("AAMkA") for i in items)


def test_bad_or_stale_tokens_are_410_sync_state_not_found(emulator, adele):
    _, delta_link, _ = run_round(adele)
    auth = {"Authorization": f"Bearer {adele.token}"}
    tampered = delta_link[:-3] + ("AAA" if not delta_link.endswith("AAA") else "BBB")
    assert_graph_error(emulator.session.get(tampered, headers=auth, timeout=30), 410, "SyncStateNotFound")
    assert_graph_error(adele.get(INBOX, params={"$deltatoken": "garbage"}), 410, "SyncStateNotFound")
    # The same token against another folder is not valid either.
    token = delta_link.split("$deltatoken=")[1]
    assert_graph_error(adele.get("/me/mailFolders/sentitems/messages/delta", params={"$deltatoken": token}), 410)
    emulator.reset()  # the emulator's sync state is gone: like a token evicted from Exchange's cache
    assert_graph_error(emulator.session.get(delta_link, headers=auth, timeout=30), 410, "SyncStateNotFound")


def test_only_received_date_filters_are_supported(adele):
    items, _, _ = run_round(adele, page_size=50, params={"$filter": "receivedDateTime ge 2026-11-10T00:00:00Z"})
    assert len(items) == 4
    assert_graph_error(adele.get(INBOX, params={"$filter": "subject eq 'x'"}), 400)
    assert_graph_error(adele.get(INBOX, params={"$orderby": "subject"}), 400)


def test_change_type_created_reports_only_new_messages(emulator, adele):
    _, delta_link, _ = run_round(adele, params={"changeType": "created"})
    updated = adele.find("Hard case: IDN domains")
    adele.patch(f"/me/messages/{updated['id']}", json={"isRead": True})
    new = emulator.deliver(ADELE, {"subject": "Delta: created only"})
    items, _, _ = run_round(adele, delta_link)
    assert [i["id"] for i in items] == [new["id"]]


def test_app_only_delta_on_users_path(contoso_app):
    r = contoso_app.get("~/mailFolders('SentItems')/messages/delta", params={"$select": "subject"})
    assert r.status_code == 200
    body = r.json()
    assert {m["subject"] for m in body["value"]} == {"Hard case: sent with Bcc", "Plain: reply to Northwind order"}
    assert f"/users/{ADELE}/mailFolders(" in body["@odata.deltaLink"]
