"""Faults on demand and Outlook's throttling, seen from a Graph client."""

import threading
import time

import pytest
import requests

ADELE = "adele.vance@contoso.com"
MEGAN = "megan.bowen@contoso.com"
CONTOSO = "8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11"


@pytest.fixture
def adele_token(emulator):
    return emulator.graph_token(ADELE)


def get_me(emulator, token, **kw):
    return emulator.graph("GET", "/me", token, **kw)


def test_429_for_n_requests_then_success(emulator, adele_token):
    emulator.fault(path=r"^/v1\.0/me$", kind="429", count=2, retry_after=3)
    for _ in range(2):
        response = get_me(emulator, adele_token)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        assert response.json()["error"]["code"] == "TooManyRequests"
        assert {"date", "request-id"} <= response.json()["error"]["innerError"].keys()
    assert get_me(emulator, adele_token).status_code == 200
    rows = emulator.requests(path=r"^/v1\.0/me$")
    assert [r["throttled"] for r in rows] == [True, True, False]
    assert rows[0]["mailbox"] == ADELE


def test_503_for_a_time_window(emulator, adele_token):
    emulator.fault(path="/me", kind="503", seconds=0.6)
    assert get_me(emulator, adele_token).status_code == 503
    time.sleep(0.7)
    assert get_me(emulator, adele_token).status_code == 200


def test_504_and_method_filter(emulator, adele_token):
    emulator.fault(path="/me", kind="504", method="PATCH")
    assert get_me(emulator, adele_token).status_code == 200
    response = emulator.graph("PATCH", "/me/messages/x", adele_token, json={})
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "GatewayTimeout"


def test_a_412_fault_answers_as_a_lost_write_race_and_changes_nothing(emulator, adele_token):
    """Another client changed the item first: a write answers what a stale If-Match gets."""
    listed = emulator.graph("GET", "/me/messages", adele_token, params={"$select": "categories", "$top": "1"})
    message = listed.json()["value"][0]
    emulator.fault(path=r"/me/messages/[^/]+$", kind="412", method="PATCH", count=1)
    path = f"/me/messages/{message['id']}"
    refused = emulator.graph("PATCH", path, adele_token, json={"categories": ["Red category"]})
    assert refused.status_code == 412
    assert refused.json()["error"]["code"] == "ErrorIrresolvableConflict"
    assert {"date", "request-id"} <= refused.json()["error"]["innerError"].keys()
    after = emulator.graph("GET", path, adele_token, params={"$select": "categories"}).json()
    assert after["categories"] == message["categories"] and after["@odata.etag"] == message["@odata.etag"]
    assert emulator.graph("PATCH", path, adele_token, json={"categories": ["Red category"]}).status_code == 200


def test_every_nth_request(emulator, adele_token):
    emulator.fault(path="/me", kind="429", every=2)
    assert [get_me(emulator, adele_token).status_code for _ in range(4)] == [200, 429, 200, 429]


def test_latency_slows_the_answer(emulator, adele_token):
    emulator.fault(path="/me", kind="latency", latency_ms=400, count=1)
    started = time.monotonic()
    assert get_me(emulator, adele_token).status_code == 200
    assert time.monotonic() - started >= 0.4
    assert emulator.requests(path="/me")[0]["duration_ms"] >= 400


def test_reset_ends_latency_sleeps_in_progress(emulator, adele_token):
    """A request still sleeping out a fault holds one of the mailbox's 4 slots; a reset
    (every test's teardown) ends the sleep, so no slot leaks into the next test."""
    emulator.fault(path=r"^/v1\.0/me$", kind="latency", latency_ms=60_000, count=1)
    answers = []
    sleeper = threading.Thread(target=lambda: answers.append(get_me(emulator, adele_token, timeout=90)))
    sleeper.start()
    time.sleep(0.3)  # let it reach the sleep
    emulator.reset()
    sleeper.join(timeout=20)
    assert not sleeper.is_alive()
    assert answers[0].status_code == 200


def test_drop_closes_the_connection_without_an_answer(emulator, adele_token):
    emulator.fault(path="/me", kind="drop", count=1)
    with pytest.raises(requests.ConnectionError):
        get_me(emulator, adele_token)
    assert get_me(emulator, adele_token).status_code == 200


def test_expired_token_fault_answers_like_an_expired_token(emulator, adele_token):
    emulator.fault(path="/me", kind="expired_token", count=1)
    response = get_me(emulator, adele_token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert get_me(emulator, adele_token).status_code == 200


def test_faults_can_hit_the_token_endpoint(emulator):
    emulator.fault(path="/oauth2/v2.0/token", kind="503", count=1, retry_after=1)
    response = emulator.session.post(
        f"{emulator.base_url}/{CONTOSO}/oauth2/v2.0/token",
        timeout=10,
        data={
            "grant_type": "client_credentials",
            "client_id": "6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13",
            "client_secret": "local-emulator-only",
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


def test_clearing_faults_stops_them(emulator, adele_token):
    emulator.fault(path="/me", kind="503")
    emulator.clear_faults()
    assert get_me(emulator, adele_token).status_code == 200


def concurrent_gets(emulator, tokens, paths):
    """Send the requests at once; answers in order."""
    results = [None] * len(paths)
    barrier = threading.Barrier(len(paths))

    def call(i):
        barrier.wait()
        results[i] = emulator.graph("GET", paths[i], tokens[i], timeout=30)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_fifth_concurrent_request_to_a_mailbox_is_throttled(emulator, adele_token):
    # Slow answers keep four requests in flight while the fifth arrives.
    emulator.fault(path=f"^/v1\\.0/users/{ADELE}$", kind="latency", latency_ms=1500)
    results = concurrent_gets(emulator, [adele_token] * 5, [f"/users/{ADELE}"] * 5)
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(429) == 1, statuses
    throttled = next(r for r in results if r.status_code == 429)
    assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    assert "MailboxConcurrency" in throttled.json()["error"]["message"]
    assert int(throttled.headers["Retry-After"]) >= 1
    assert sum(1 for r in emulator.requests(path="/users/") if r["throttled"]) == 1


def test_concurrency_is_counted_per_mailbox(emulator, adele_token):
    emulator.fault(path=r"^/v1\.0/users/", kind="latency", latency_ms=1000)
    megan_token = emulator.graph_token(MEGAN)
    paths = [f"/users/{ADELE}"] * 4 + [f"/users/{MEGAN}"] * 4
    results = concurrent_gets(emulator, [adele_token] * 4 + [megan_token] * 4, paths)
    assert all(r.status_code != 429 for r in results)


def test_concurrency_limit_is_settable(emulator, adele_token):
    emulator.limits(mailbox_concurrency=1)
    emulator.fault(path="/me", kind="latency", latency_ms=800)
    statuses = sorted(r.status_code for r in concurrent_gets(emulator, [adele_token] * 2, ["/me"] * 2))
    assert statuses == [200, 429]


def test_request_rate_window(emulator, adele_token):
    emulator.limits(mailbox_requests_per_window=3, window_s=60)
    statuses = [get_me(emulator, adele_token).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = get_me(emulator, adele_token)
    assert response.json()["error"]["code"] == "ApplicationThrottled"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_bad_fault_rules_are_refused(emulator):
    response = emulator.session.post(f"{emulator.base_url}/_emulator/faults", json={"kind": "teapot"}, timeout=10)
    assert response.status_code == 400
    response = emulator.session.post(
        f"{emulator.base_url}/_emulator/faults", json={"kind": "429", "path": "("}, timeout=10
    )
    assert response.status_code == 400


def test_faults_apply_to_each_request_inside_a_batch(emulator, adele_token):
    emulator.fault(path=r"^/v1\.0/me/mailFolders/inbox$", kind="429", count=1, retry_after=7)
    emulator.clear_requests()
    response = emulator.graph(
        "POST",
        "/$batch",
        adele_token,
        json={
            "requests": [
                {"id": "1", "method": "GET", "url": "/me/mailFolders/inbox"},
                {"id": "2", "method": "GET", "url": "/me/mailFolders/sentitems"},
            ]
        },
    )
    assert response.status_code == 200
    answers = {r["id"]: r for r in response.json()["responses"]}
    assert answers["1"]["status"] == 429
    assert answers["1"]["headers"]["Retry-After"] == "7"
    assert answers["2"]["status"] == 200
    rows = emulator.requests()
    inner = [r for r in rows if r["in_batch"]]
    assert {r["path"] for r in inner} == {"/v1.0/me/mailFolders/inbox", "/v1.0/me/mailFolders/sentitems"}
    assert [r["throttled"] for r in inner if r["path"].endswith("inbox")] == [True]
    assert len({r["batch_id"] for r in inner}) == 1 and inner[0]["batch_id"]
    assert [r["path"] for r in rows if not r["in_batch"]] == ["/v1.0/$batch"]
