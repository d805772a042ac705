"""The CRM pages in English, Polish and Czech: the user's own choice on the settings
page, else the browser's Accept-Language; and times in the user's mailbox time zone."""

from __future__ import annotations

import re

from server.crm.models import User
from tests.support.arrange_records import filed_email, user_of
from tests.support.identities import ADELE, ADELE_OID, CONTOSO, MEGAN

CZECH = {"Accept-Language": "cs-CZ,cs;q=0.9,en;q=0.5"}
POLISH = {"Accept-Language": "pl-PL,pl;q=0.9"}
MEGAN_OID = "3d9a7e1c-5b4f-4c82-b6a0-8e2f1d7c9b35"


def page(person, path, headers=None) -> str:
    response = person.get(path, headers=headers or {})
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def stored_settings(crm, oid: str) -> dict:
    crm.expire_all()
    return dict(User.by_oid(crm, CONTOSO, oid).settings or {})


def stored_zone(crm, oid: str) -> str | None:
    crm.expire_all()
    return User.by_oid(crm, CONTOSO, oid).time_zone


def test_pages_follow_the_browsers_language(browser, clean_state):
    adele = browser(ADELE)
    english = page(adele, "/crm/")
    assert '<html lang="en">' in english and "Latest filed emails" in english and ">Settings<" in english
    czech = page(adele, "/crm/", CZECH)
    assert '<html lang="cs">' in czech
    assert "Naposledy uložené e-maily" in czech and ">Nastavení<" in czech and "Latest filed emails" not in czech
    polish = page(adele, "/crm/", POLISH)
    assert '<html lang="pl">' in polish
    assert "Ostatnio zapisane wiadomości" in polish and ">Ustawienia<" in polish
    # A language we do not have falls back to English.
    assert '<html lang="en">' in page(adele, "/crm/", {"Accept-Language": "de-DE,de;q=0.9"})


def test_messages_from_code_speak_the_pages_language(browser, clean_state):
    adele = browser(ADELE)
    missing = adele.get("/crm/contacts/999999", headers=POLISH)
    assert missing.status_code == 404
    assert "Nie znaleziono" in missing.get_data(as_text=True)
    refused = adele.post_form(
        "/crm/settings/tenant",
        {"auto_sync": "marked", "never_sync": "not an address"},
        token_from="/crm/settings",
        headers=CZECH,
    )
    assert refused.status_code == 400
    assert "„not an address“ není e-mailová adresa ani doména." in refused.get_data(as_text=True)


def test_the_users_choice_wins_over_the_browser_and_persists(browser, crm, clean_state):
    browser(ADELE)  # holds the Crm.Admin role: an administrator
    megan = browser(MEGAN)  # not the administrator: everyone chooses their own language
    saved = megan.post_form("/crm/settings/me", {"language": "pl"}, token_from="/crm/settings", headers=CZECH)
    assert saved.status_code == 303
    assert stored_settings(crm, MEGAN_OID)["language"] == "pl"

    settings_page = page(megan, "/crm/settings", CZECH)
    assert '<html lang="pl">' in settings_page and "Zapisano Twoje preferencje." in settings_page
    assert re.search(r'<option value="pl" lang="pl" selected>Polski</option>', settings_page)
    # A new session (sign in again) keeps the choice: it is stored on the user.
    again = browser(MEGAN)
    assert '<html lang="pl">' in page(again, "/crm/emails", CZECH)

    back = again.post_form("/crm/settings/me", {"language": "auto"}, token_from="/crm/settings")
    assert back.status_code == 303
    assert "language" not in stored_settings(crm, MEGAN_OID)
    assert '<html lang="cs">' in page(again, "/crm/emails", CZECH)


def test_an_unknown_language_is_refused_and_nothing_saved(browser, crm, clean_state):
    adele = browser(ADELE)
    refused = adele.post_form("/crm/settings/me", {"language": "de"}, token_from="/crm/settings")
    assert refused.status_code == 400
    assert "Choose one of the languages offered." in refused.get_data(as_text=True)
    assert "language" not in stored_settings(crm, ADELE_OID)


def test_sign_in_stores_the_mailbox_time_zone_from_outlook(browser, crm, clean_state):
    browser(MEGAN)  # her mailbox says "Central Europe Standard Time" (a Windows zone name)
    browser(ADELE)  # hers "Pacific Standard Time"
    assert stored_zone(crm, MEGAN_OID) == "Europe/Budapest"
    assert stored_zone(crm, ADELE_OID) == "America/Los_Angeles"


def test_times_show_in_the_users_zone_and_language(browser, crm, emulator, clean_state):
    # Megan's administrator set her mailbox up with an IANA zone name.
    emulator.graph(
        "PATCH", f"/users/{MEGAN}/mailboxSettings", emulator.app_token(CONTOSO), json={"timeZone": "Europe/Prague"}
    )
    megan_user = user_of(crm, CONTOSO, MEGAN_OID, MEGAN)
    email = filed_email(crm, megan_user, subject="Winter quote", minutes=30)  # sent 2 Nov 2026, 09:30 UTC
    megan = browser(MEGAN)
    assert stored_zone(crm, MEGAN_OID) == "Europe/Prague"

    english = page(megan, f"/crm/emails/{email.id}")
    assert re.search(
        r'<time datetime="2026-11-02T09:30:00[^"]*" title="Europe/Prague">Nov 2, 2026, 10:30\u202fAM</time>', english
    )
    assert "UTC</time>" not in english
    czech = page(megan, f"/crm/emails/{email.id}", CZECH)
    assert 'title="Europe/Prague">2. 11. 2026 10:30</time>' in czech
    settings_page = page(megan, "/crm/settings")
    assert "Times are shown in the time zone of your Outlook mailbox: Europe/Prague." in settings_page

    # In summer Prague is two hours ahead of UTC.
    summer = filed_email(crm, megan_user, subject="Summer quote", minutes=60 * 24 * 240)  # 30 Jun 2027, 09:00 UTC
    assert 'title="Europe/Prague">30. 6. 2027 11:00</time>' in page(megan, f"/crm/emails/{summer.id}", CZECH)


def test_without_a_known_zone_times_show_in_utc(browser, crm, emulator, clean_state):
    # A zone name neither CLDR nor the system knows leaves the pages on UTC.
    emulator.graph(
        "PATCH", f"/users/{ADELE}/mailboxSettings", emulator.app_token(CONTOSO), json={"timeZone": "Mars Standard Time"}
    )
    adele_user = user_of(crm, CONTOSO, ADELE_OID, ADELE)
    email = filed_email(crm, adele_user, subject="Plain quote", minutes=30)
    adele = browser(ADELE)
    assert stored_zone(crm, ADELE_OID) is None
    shown = page(adele, f"/crm/emails/{email.id}")
    assert 'title="UTC">Nov 2, 2026, 9:30\u202fAM</time>' in shown
    assert "Times are shown in UTC until the time zone of your Outlook mailbox is known" in page(adele, "/crm/settings")


def test_test_connection_reports_in_the_users_language(browser, crm, clean_state):
    adele = browser(ADELE)
    assert adele.post_form("/crm/settings/me", {"language": "cs"}, token_from="/crm/settings").status_code == 303
    results = adele.test_connection()
    assert '<html lang="cs">' in results
    assert "<strong>Souhlas</strong>" in results and "<strong>Přístup ke Graphu</strong>" in results
    assert "Aplikace získala token Microsoft Graph (jen pro aplikaci) pro váš tenant." in results
    assert "Souhlas správce pokrývá Mail.ReadWrite, Contacts.ReadWrite, MailboxSettings.ReadWrite." in results
