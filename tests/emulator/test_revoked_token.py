"""One already-issued token refused, as Graph refuses a token revoked or expired early:
an `expired_token` fault rule naming the token. Other tokens of the same user still work."""

from tests.support.identities import ADELE, ADELE_OID, CONTOSO


def test_a_revoked_token_gets_graphs_401_and_a_new_token_of_the_same_user_works(emulator):
    revoked = emulator.graph_token(ADELE)
    assert emulator.graph("GET", "/me", revoked).status_code == 200
    emulator.fault(kind="expired_token", token=revoked)

    for path in ("/me", "/me/mailFolders/inbox/messages"):
        refused = emulator.graph("GET", path, revoked)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "InvalidAuthenticationToken"
        assert refused.json()["error"]["message"] == "Access token has expired or is not yet valid."
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert emulator.graph("GET", "/me", emulator.graph_token(ADELE)).status_code == 200


def test_a_revoked_app_only_token_is_refused_for_the_whole_batch_too(emulator):
    revoked = emulator.app_token(CONTOSO)
    emulator.fault(kind="expired_token", token=revoked)
    answer = emulator.graph(
        "POST",
        "/$batch",
        revoked,
        json={"requests": [{"id": "1", "method": "GET", "url": f"/users/{ADELE_OID}/mailFolders/inbox"}]},
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"
    fresh = emulator.app_token(CONTOSO)
    assert emulator.graph("GET", f"/users/{ADELE_OID}/mailFolders/inbox", fresh).status_code == 200


def test_a_token_rule_honours_count_and_is_cleared_with_the_faults(emulator):
    token = emulator.graph_token(ADELE)
    emulator.fault(kind="expired_token", token=token, count=1)
    assert emulator.graph("GET", "/me", token).status_code == 401
    assert emulator.graph("GET", "/me", token).status_code == 200

    emulator.fault(kind="expired_token", token=token)
    assert emulator.graph("GET", "/me", token).status_code == 401
    emulator.clear_faults()
    assert emulator.graph("GET", "/me", token).status_code == 200


def test_token_is_refused_on_other_kinds_of_rule(emulator):
    response = emulator.session.post(
        f"{emulator.base_url}/_emulator/faults", timeout=10, json={"kind": "429", "token": "abc"}
    )
    assert response.status_code == 400
    assert "expired_token" in response.json()["error"]["message"]
