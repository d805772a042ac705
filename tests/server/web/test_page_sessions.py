"""The CRM pages' sessions live on the server, so that they can be ended: by signing
out, by an admin, by the user from another browser, from the CLI, by the user's CRM
row being removed, and by Entra refusing the sign-in at the next re-check. Each test
copies a signed-in cookie into a second browser and replays it after the ending."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from server.auth.page_sessions import SIGN_IN_REFUSED, hash_id, store_for
from server.crm import audit
from server.crm.models import PageSession, User
from server.crm.types import utcnow
from server.db import session_scope
from tests.support.audit_entries import entries_of
from tests.support.identities import ADELE, ADELE_OID, CONTOSO, MEGAN
from tests.support.signin_client import Browser


def cookie_of(browser: Browser) -> str:
    return browser.client.get_cookie("crm_session").value


def replay(app, emulator, cookie: str) -> Browser:
    """A second browser holding a copy of someone's session cookie."""
    thief = Browser(app.test_client(), emulator)
    thief.client.set_cookie("crm_session", cookie, domain="localhost")
    return thief


def signed_in(browser: Browser) -> bool:
    response = browser.get("/crm/")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def sign_in(app, emulator, upn: str = ADELE) -> Browser:
    person = Browser(app.test_client(), emulator)
    person.sign_in(upn)
    return person


def reasons(app, upn: str) -> list[str | None]:
    with session_scope(app) as db:
        user = db.scalar(select(User).where(User.upn == upn))
        return list(db.scalars(select(PageSession.revoked_reason).where(PageSession.user_id == user.id)))


# -- signing out ---------------------------------------------------------------------------


def test_a_copied_cookie_no_longer_works_after_sign_out(app, clean_state, emulator):
    adele = sign_in(app, emulator)
    copy = replay(app, emulator, cookie_of(adele))
    assert signed_in(copy)  # the copy works while the session lasts

    assert adele.post_form("/auth/signout").status_code == 302

    assert not signed_in(copy)
    assert copy.client.post("/crm/settings/me", data={"language": "pl"}).status_code in (400, 401)
    assert reasons(app, ADELE) == ["signed_out"]


def test_signing_in_again_gives_a_new_id_and_ends_the_old_session(app, clean_state, emulator):
    adele = sign_in(app, emulator)
    first = cookie_of(adele)
    adele.sign_in(ADELE)
    assert cookie_of(adele) != first
    assert signed_in(adele) and not signed_in(replay(app, emulator, first))


def test_a_made_up_cookie_signs_no_one_in_and_is_dropped(app, clean_state, emulator):
    stranger = replay(app, emulator, "x" * 43)
    response = stranger.get("/crm/")
    assert response.status_code == 302
    assert "crm_session=;" in response.headers.get("Set-Cookie", "")


# -- the user removed, Entra refusing ---------------------------------------------------------


def test_a_removed_user_s_sessions_end(app, clean_state, emulator):
    adele = sign_in(app, emulator)
    copy = replay(app, emulator, cookie_of(adele))
    with session_scope(app) as db:
        db.execute(delete(User).where(User.tenant_id == CONTOSO, User.oid == ADELE_OID))
    assert not signed_in(copy)
    assert not signed_in(adele)


@pytest.fixture
def rechecking_app(make_app, clean_state):
    """A backend that re-checks the sign-in with Entra on every page (SESSION_RECHECK_S=0)."""
    return make_app(SESSION_RECHECK_S=0)


def test_entra_refusing_the_sign_in_ends_every_session_of_that_user(rechecking_app, emulator):
    app = rechecking_app
    adele, other_browser, megan = sign_in(app, emulator), sign_in(app, emulator), sign_in(app, emulator, MEGAN)
    copy = replay(app, emulator, cookie_of(adele))
    emulator.clear_requests()
    assert signed_in(adele) and signed_in(copy)  # each page renewed the refresh token
    assert len(emulator.requests(r"/oauth2/v2.0/token$")) == 2

    emulator.account(ADELE, enabled=False)  # Entra's admin disables Adele

    assert not signed_in(copy)
    assert not signed_in(adele) and not signed_in(other_browser)
    assert reasons(app, ADELE) == [SIGN_IN_REFUSED] * 2
    assert signed_in(megan)


def test_revoked_refresh_tokens_end_the_session(rechecking_app, emulator):
    adele = sign_in(rechecking_app, emulator)
    emulator.account(ADELE, revoke_sessions=True)  # e.g. after a password reset
    assert not signed_in(adele)


def test_an_unreachable_entra_keeps_the_session(rechecking_app, emulator):
    adele = sign_in(rechecking_app, emulator)
    emulator.fault(path=r"/oauth2/v2.0/token$", kind="503", count=5)
    assert signed_in(adele)


def test_no_re_check_before_the_interval(app, clean_state, emulator):
    adele = sign_in(app, emulator)  # SESSION_RECHECK_S: the default 15 minutes
    emulator.account(ADELE, enabled=False)
    emulator.clear_requests()
    assert signed_in(adele)
    assert emulator.requests(r"/oauth2/v2.0/token$") == []


# -- an admin, the user, the CLI ---------------------------------------------------------------


def test_an_admin_ends_a_user_s_sessions(app, clean_state, emulator):
    adele = sign_in(app, emulator)  # the tenant's admin
    megan = sign_in(app, emulator, MEGAN)
    copy = replay(app, emulator, cookie_of(megan))
    page = adele.get("/crm/admin/sessions").get_data(as_text=True)
    assert "Megan Bowen" in page and "End sessions" in page
    with session_scope(app) as db:
        megan_id = db.scalar(select(User.id).where(User.upn == MEGAN))

    assert adele.client.post(f"/crm/admin/sessions/users/{megan_id}/end").status_code == 400  # no CSRF token
    assert signed_in(copy)
    done = adele.post_form(f"/crm/admin/sessions/users/{megan_id}/end", token_from="/crm/admin/sessions")
    assert done.status_code == 303

    assert not signed_in(copy) and not signed_in(megan) and signed_in(adele)
    assert "Ended 1 session of Megan Bowen." in adele.get("/crm/admin/sessions").get_data(as_text=True)
    assert reasons(app, MEGAN) == ["ended_by_admin"]


def test_every_end_of_a_session_is_in_the_audit_log_with_who_ended_it_and_why(app, clean_state, emulator):
    adele = sign_in(app, emulator)
    megan = sign_in(app, emulator, MEGAN)
    with session_scope(app) as db:
        megan_id = db.scalar(select(User.id).where(User.upn == MEGAN))
    adele.post_form(f"/crm/admin/sessions/users/{megan_id}/end", token_from="/crm/admin/sessions")
    adele.post_form("/auth/signout", token_from="/crm/")

    with session_scope(app) as db:
        ended = [
            (entry.actor_upn, entry.target_id, entry.after) for entry in entries_of(db, CONTOSO, audit.SESSION_ENDED)
        ]
        adele_id = db.scalar(select(User.id).where(User.upn == ADELE))
    assert ended == [
        (ADELE, str(megan_id), {"reason": "ended_by_admin"}),
        (ADELE, str(adele_id), {"reason": "signed_out"}),
    ]
    assert not signed_in(megan)


def test_only_an_admin_ends_others_sessions(app, clean_state, emulator):
    adele = sign_in(app, emulator)
    megan = sign_in(app, emulator, MEGAN)
    with session_scope(app) as db:
        adele_id = db.scalar(select(User.id).where(User.upn == ADELE))
    assert megan.get("/crm/admin/sessions").status_code == 403
    assert megan.post_form(f"/crm/admin/sessions/users/{adele_id}/end").status_code == 403
    assert signed_in(adele)


def test_a_user_ends_their_other_sessions_and_keeps_this_one(app, clean_state, emulator):
    laptop, phone, tablet = sign_in(app, emulator), sign_in(app, emulator), sign_in(app, emulator)
    page = laptop.get("/crm/settings/sessions").get_data(as_text=True)
    assert page.count('<li class="row') == 3 and "this browser" in page
    phone_handle = hash_id(cookie_of(phone))[:16]
    assert phone_handle in page and cookie_of(phone) not in page

    laptop.post_form("/crm/settings/sessions/end", {"session": phone_handle}, token_from="/crm/settings/sessions")
    assert not signed_in(phone) and signed_in(tablet) and signed_in(laptop)

    laptop.post_form("/crm/settings/sessions/end", {"session": "others"}, token_from="/crm/settings/sessions")
    assert not signed_in(tablet) and signed_in(laptop)


def test_the_cli_ends_a_user_s_sessions(app, clean_state, emulator):
    adele = sign_in(app, emulator)
    result = app.test_cli_runner().invoke(args=["crm", "end-sessions", ADELE.upper()])
    assert result.exit_code == 0, result.output
    assert "Ended 1 session(s)" in result.output
    assert not signed_in(adele)
    unknown = app.test_cli_runner().invoke(args=["crm", "end-sessions", "nobody@contoso.com"])
    assert unknown.exit_code != 0 and "No CRM user" in unknown.output


# -- Redis -------------------------------------------------------------------------------------


def test_sessions_in_redis_end_at_sign_out_too(make_app, clean_state, emulator, redis_url):
    from redis import Redis  # an optional test dependency, once a redis-server exists

    app = make_app(REDIS_URL=redis_url)
    adele = sign_in(app, emulator)
    cookie = cookie_of(adele)
    keys = {k.decode() for k in Redis.from_url(redis_url).keys("crm:page-session*")}
    assert f"crm:page-session:{hash_id(cookie)}" in keys and not any(cookie in k for k in keys)
    with session_scope(app) as db:
        assert db.scalar(select(PageSession)) is None  # nothing in the database
    copy = replay(app, emulator, cookie)
    assert signed_in(copy)

    adele.post_form("/auth/signout")

    assert not signed_in(copy)
    with app.app_context():
        assert store_for(app).get(hash_id(cookie)) is None
    assert store_for(app).of_tenant(CONTOSO, utcnow()) == []


def test_in_redis_an_admin_ends_sessions_and_a_removed_user_s_session_is_refused(
    make_app, clean_state, emulator, redis_url
):
    app = make_app(REDIS_URL=redis_url)
    adele = sign_in(app, emulator)
    megan = sign_in(app, emulator, MEGAN)
    assert "Megan Bowen" in adele.get("/crm/admin/sessions").get_data(as_text=True)
    with session_scope(app) as db:
        megan_id = db.scalar(select(User.id).where(User.upn == MEGAN))
    adele.post_form(f"/crm/admin/sessions/users/{megan_id}/end", token_from="/crm/admin/sessions")
    assert not signed_in(megan) and signed_in(adele)

    copy = replay(app, emulator, cookie_of(adele))
    with session_scope(app) as db:
        db.execute(delete(User).where(User.tenant_id == CONTOSO, User.oid == ADELE_OID))
    assert not signed_in(copy)
    assert store_for(app).of_tenant(CONTOSO, utcnow()) == []
