"""`$batch` authenticates its outer request, as Graph does: a missing, malformed, expired or
revoked bearer token answers the whole batch 401 InvalidAuthenticationToken with
WWW-Authenticate, before any inner request runs; a good token runs every part as its caller.
(learn.microsoft.com/graph/json-batching: the batch answer is 200 or 4xx, and each part's own
status sits inside a 200.)"""

import pytest

from tests.support.emulated_graph import assert_graph_error
from tests.support.identities import ADELE, ADELE_OID, CONTOSO

JSON = {"Content-Type": "application/json"}
EXPIRED_MESSAGE = "Access token has expired or is not yet valid."


def post_batch(emulator, authorization: str | None, requests, **kw):
    headers = {"Authorization": authorization} if authorization is not None else {}
    return emulator.session.post(
        f"{emulator.graph_url}/$batch", json={"requests": requests}, headers=headers, timeout=30, **kw
    )


def mark_and_read(message_id: str) -> list[dict]:
    """Two parts: one that writes (so a part that ran would show) and one that reads."""
    return [
        {
            "id": "1",
            "method": "PATCH",
            "url": f"/me/messages/{message_id}",
            "headers": JSON,
            "body": {"categories": ["Batch ran"]},
        },
        {"id": "2", "method": "GET", "url": "/me/mailFolders/inbox?$select=displayName"},
    ]


def categories(adele, message_id: str) -> list[str]:
    return adele.get(f"/me/messages/{message_id}?$select=categories").json()["categories"]


def assert_refused_whole(response, message: str | None = None) -> dict:
    error = assert_graph_error(response, 401, "InvalidAuthenticationToken")
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert "responses" not in response.json()
    if message:
        assert error["message"] == message
    return error


def inner_rows(emulator) -> list[dict]:
    return [r for r in emulator.requests() if r["in_batch"]]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Basic dXNlcjpwdw==", "Bearer not-a-jwt", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"],
)
def test_a_missing_or_malformed_token_refuses_the_whole_batch_before_any_part_runs(emulator, adele, authorization):
    message = adele.find("Hard case: attachments")
    emulator.clear_requests()

    response = post_batch(emulator, authorization, mark_and_read(message["id"]))

    assert_refused_whole(response)
    assert inner_rows(emulator) == []
    assert [(r["path"], r["status"]) for r in emulator.requests()] == [("/v1.0/$batch", 401)]
    assert "Batch ran" not in categories(adele, message["id"])


def test_the_token_is_checked_before_the_body(emulator):
    response = emulator.session.post(
        f"{emulator.graph_url}/$batch", data=b"{not json", timeout=30, headers={"Content-Type": "application/json"}
    )
    assert_refused_whole(response)


def test_an_expired_token_refuses_the_whole_batch(emulator, adele):
    message = adele.find("Hard case: attachments")
    expired = emulator.graph_token(ADELE, expires_in=-3600)
    emulator.clear_requests()

    response = post_batch(emulator, f"Bearer {expired}", mark_and_read(message["id"]))

    assert_refused_whole(response, EXPIRED_MESSAGE)
    assert inner_rows(emulator) == []
    assert "Batch ran" not in categories(adele, message["id"])


def test_a_token_for_another_audience_refuses_the_whole_batch(emulator):
    pane_token = emulator.pane_token(ADELE)  # our API's token, not Graph's
    response = post_batch(emulator, f"Bearer {pane_token}", [{"id": "1", "method": "GET", "url": "/me"}])
    assert_refused_whole(response)


def test_a_revoked_token_refuses_the_whole_batch_and_its_rule_counts_once(emulator, adele):
    message = adele.find("Hard case: attachments")
    revoked = emulator.graph_token(ADELE)
    emulator.fault(kind="expired_token", token=revoked, count=1)
    emulator.clear_requests()

    refused = post_batch(emulator, f"Bearer {revoked}", mark_and_read(message["id"]))

    assert_refused_whole(refused, EXPIRED_MESSAGE)
    assert inner_rows(emulator) == []
    assert [r["remaining"] for r in emulator.admin("GET", "faults").json()["faults"]] == [0]
    # The rule was spent on the batch itself, not on one of its parts: the same token now works.
    again = post_batch(emulator, f"Bearer {revoked}", mark_and_read(message["id"]))
    assert again.status_code == 200
    assert [r["status"] for r in again.json()["responses"]] == [200, 200]
    assert "Batch ran" in categories(adele, message["id"])


def test_an_expired_token_rule_matching_one_part_refuses_the_whole_batch_once(emulator, adele):
    """A path rule is the token found expired while Graph handles that request; Graph judges
    a batch's token once, at the door, so the whole batch is refused and the rule counts once."""
    message = adele.find("Hard case: attachments")
    emulator.fault(path=r"/messages/[^/]+$", method="PATCH", kind="expired_token", count=1)
    emulator.clear_requests()

    refused = post_batch(emulator, f"Bearer {adele.token}", mark_and_read(message["id"]))

    assert_refused_whole(refused, EXPIRED_MESSAGE)
    assert inner_rows(emulator) == []
    assert "Batch ran" not in categories(adele, message["id"])
    again = post_batch(emulator, f"Bearer {adele.token}", mark_and_read(message["id"]))
    assert [r["status"] for r in again.json()["responses"]] == [200, 200]


def test_an_expired_token_rule_on_the_batch_path_refuses_it_once(emulator, adele):
    emulator.fault(path=r"^/v1\.0/\$batch$", kind="expired_token", count=1)
    parts = [{"id": "1", "method": "GET", "url": "/me"}]
    assert_refused_whole(post_batch(emulator, f"Bearer {adele.token}", parts))
    assert post_batch(emulator, f"Bearer {adele.token}", parts).status_code == 200


def test_a_good_token_runs_every_part_as_its_caller(emulator):
    app_token = emulator.app_token(CONTOSO)
    emulator.clear_requests()

    response = post_batch(
        emulator,
        f"Bearer {app_token}",
        [
            {"id": "1", "method": "GET", "url": f"/users/{ADELE_OID}/mailFolders/inbox"},
            {"id": "2", "method": "GET", "url": f"/users/{ADELE}/mailFolders/sentitems"},
        ],
    )

    assert response.status_code == 200
    answers = {r["id"]: r for r in response.json()["responses"]}
    assert answers["1"]["status"] == 200 and answers["1"]["body"]["displayName"] == "Inbox"
    assert answers["2"]["status"] == 200 and answers["2"]["body"]["displayName"] == "Sent Items"
    assert len(inner_rows(emulator)) == 2


def test_throttling_still_answers_per_part_inside_an_authenticated_batch(emulator, adele):
    emulator.fault(path=r"^/v1\.0/me/mailFolders/inbox$", kind="429", count=1, retry_after=3)
    response = post_batch(
        emulator,
        f"Bearer {adele.token}",
        [{"id": "1", "method": "GET", "url": "/me/mailFolders/inbox"}, {"id": "2", "method": "GET", "url": "/me"}],
    )
    assert response.status_code == 200
    answers = {r["id"]: r for r in response.json()["responses"]}
    assert answers["1"]["status"] == 429 and answers["1"]["headers"]["Retry-After"] == "3"
    assert answers["2"]["status"] == 200
