"""mailboxSettings in the shape of Microsoft's documented example: each fixture user's
time zone (a Windows name, as Exchange Online answers by default), $select, the one
setting on its own, PATCH, and the permission it needs."""

from tests.support.identities import ADELE, CONTOSO, MEGAN


def test_mailbox_settings_give_the_users_time_zone_and_language(adele, megan):
    mine = adele.get("/me/mailboxSettings")
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["timeZone"] == "Pacific Standard Time"
    assert body["language"] == {"locale": "en-US", "displayName": "English (United States)"}
    assert body["workingHours"]["timeZone"] == {"name": "Pacific Standard Time"}
    assert body["@odata.context"].endswith("/mailboxSettings")
    assert megan.get("/me/mailboxSettings").json()["timeZone"] == "Central Europe Standard Time"


def test_select_and_a_single_setting(adele, contoso_app):
    only = adele.get("/me/mailboxSettings", params={"$select": "timeZone"}).json()
    assert {k for k in only if not k.startswith("@odata.")} == {"timeZone"}
    one = contoso_app.get(f"/users/{MEGAN}/mailboxSettings/timeZone")
    assert one.status_code == 200 and one.json()["value"] == "Central Europe Standard Time"
    assert adele.get("/me/mailboxSettings", params={"$select": "nope"}).status_code == 400


def test_patch_changes_the_time_zone(adele, contoso_app):
    changed = adele.patch("/me/mailboxSettings", json={"timeZone": "Europe/Prague"})
    assert changed.status_code == 200 and changed.json()["timeZone"] == "Europe/Prague"
    assert contoso_app.get(f"/users/{ADELE}/mailboxSettings").json()["timeZone"] == "Europe/Prague"
    assert adele.patch("/me/mailboxSettings", json={"automaticRepliesSetting": {}}).status_code == 400


def test_reading_needs_a_mailbox_settings_permission(emulator):
    emulator.consent(CONTOSO, roles=["Mail.ReadWrite"])
    app_only = emulator.graph("GET", f"/users/{ADELE}/mailboxSettings", emulator.app_token(CONTOSO))
    assert app_only.status_code == 403
