"""Per-user rate limits on the API: keyed by the validated token's tenant + user (the
client IP without a valid token), 429 with Retry-After in the one error shape; webhook
endpoints are exempt from the per-user limit but limited per IP; counters are shared
through Redis when REDIS_URL is set."""

from __future__ import annotations

import socket

import pytest
from limits.storage import storage_from_string

from server.ratelimit import ProcessMemoryStorage
from tests.support.identities import ADELE, ADELE_OID, CONTOSO, MEGAN
from tests.support.rq_processes import free_port, redis_server, redis_server_binary

LIMIT = 5
NOTIFICATION = {
    "value": [
        {
            "subscriptionId": "not-ours",
            "clientState": "forged",
            "changeType": "created",
            "resource": "Users/x/Messages/y",
        }
    ]
}


def auth(emulator, upn):
    return {"Authorization": f"Bearer {emulator.pane_token(upn)}"}


def assert_throttled(response):
    assert response.status_code == 429, response.json
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 61
    error = response.json["error"]
    assert error["code"] == "rate_limited" and error["message"] and error["retry_after"] == retry_after


@pytest.fixture
def limited(make_app, clean_state):
    return make_app(RATE_LIMIT=f"{LIMIT} per minute", WEBHOOK_RATE_LIMIT="3 per minute").test_client()


def test_a_user_over_the_limit_gets_429_with_retry_after(limited, emulator):
    adele = auth(emulator, ADELE)
    for _ in range(LIMIT):
        assert limited.get("/api/v1/settings/me", headers=adele).status_code == 200
    assert_throttled(limited.get("/api/v1/settings/me", headers=adele))
    assert_throttled(limited.post("/api/v1/messages/batch-sync", headers=adele, json={"ids": ["x"]}))


def test_the_limit_is_per_user_not_per_token_or_ip(limited, emulator):
    for _ in range(LIMIT):
        limited.get("/api/v1/settings/me", headers=auth(emulator, ADELE))
    # A fresh token of the same user shares the budget; another user at the same IP does not.
    assert_throttled(
        limited.get(
            "/api/v1/settings/me",
            headers=auth(
                emulator,
                ADELE,
            ),
        )
    )
    fresh = {"Authorization": f"Bearer {emulator.pane_token(ADELE, expires_in=1800)}"}
    assert_throttled(limited.get("/api/v1/settings/me", headers=fresh))
    assert limited.get("/api/v1/settings/me", headers=auth(emulator, MEGAN)).status_code == 200


def test_requests_without_a_valid_token_are_counted_per_ip(limited, emulator):
    for _ in range(LIMIT):
        assert limited.get("/api/v1/settings/me", headers={"Authorization": "Bearer forged"}).status_code == 401
    assert_throttled(limited.get("/api/v1/settings/me"))
    elsewhere = limited.get("/api/v1/settings/me", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert elsewhere.status_code == 401
    # A signed-in user behind the same IP keeps their own budget.
    assert limited.get("/api/v1/settings/me", headers=auth(emulator, ADELE)).status_code == 200


def test_health_is_never_limited(limited):
    for _ in range(LIMIT * 2):
        assert limited.get("/api/v1/health").status_code == 200


def test_webhooks_are_limited_per_ip_and_not_by_the_users_budget(limited, emulator):
    adele = auth(emulator, ADELE)
    for _ in range(LIMIT + 1):
        limited.get("/api/v1/settings/me", headers=adele)
    # Forged notifications are refused cheaply (403, nothing queued) until the IP's budget ends.
    for _ in range(3):
        assert limited.post("/api/v1/notifications", json=NOTIFICATION).status_code == 403
    assert_throttled(limited.post("/api/v1/notifications", json=NOTIFICATION))
    assert_throttled(limited.post("/api/v1/notifications/lifecycle", json=NOTIFICATION))
    other_ip = limited.post("/api/v1/notifications", json=NOTIFICATION, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert other_ip.status_code == 403


def test_off_disables_the_limits(make_app, clean_state, emulator):
    client = make_app(RATE_LIMIT="off").test_client()
    adele = auth(emulator, ADELE)
    for _ in range(LIMIT * 3):
        assert client.get("/api/v1/settings/me", headers=adele).status_code == 200


@pytest.mark.redis
def test_workers_share_counters_through_redis(make_app, clean_state, emulator, redis_url):  # noqa: F811
    # Two apps stand for two gunicorn workers; with memory storage each would allow LIMIT.
    first, second = (make_app(RATE_LIMIT=f"{LIMIT} per minute", REDIS_URL=redis_url).test_client() for _ in range(2))
    megan = auth(emulator, MEGAN)
    for n in range(LIMIT):
        assert (first if n % 2 else second).get("/api/v1/settings/me", headers=megan).status_code == 200
    assert_throttled(first.get("/api/v1/settings/me", headers=megan))
    assert_throttled(second.get("/api/v1/settings/me", headers=megan))


def test_memory_counters_start_no_thread_per_request_and_still_expire():
    # limits' MemoryStorage replaces its expiry timer (a new thread) on a request counted
    # after the previous timer ended; the app's storage never starts one.
    storage = storage_from_string("crm-memory://")
    assert isinstance(storage, ProcessMemoryStorage)
    storage.incr("user:a", expiry=60)
    first_timer = storage.timer
    first_timer.join()  # the one MemoryStorage started is cancelled: it ends at once
    for _ in range(20):
        storage.incr("user:a", expiry=60)
    assert storage.timer is first_timer
    assert storage.get("user:a") == 21

    # Expired counters read as zero, and are dropped within PURGE_EVERY_S.
    storage.incr("user:b", expiry=60)
    storage.expirations["user:b"] = 0.0  # as if its window ended long ago
    assert storage.get("user:b") == 0
    storage.incr("user:c", expiry=60)
    storage.expirations["user:c"] = 0.0
    storage.purged_at -= ProcessMemoryStorage.PURGE_EVERY_S  # the last purge was that long ago
    storage.incr("user:a", expiry=60)
    assert "user:c" not in storage.storage and storage.get("user:a") == 22


def test_without_redis_the_api_counts_in_the_process_storage(make_app, clean_state):
    app = make_app(RATE_LIMIT=f"{LIMIT} per minute")
    (limiter,) = app.extensions["limiter"]
    assert isinstance(limiter.storage, ProcessMemoryStorage)


def test_the_user_limit_counts_under_flask_limiters_keys(limited, emulator):
    # The counters of processes that ran flask-limiter's application limit stay the same
    # counters (a rolling deployment shares them through Redis).
    adele = auth(emulator, ADELE)
    for _ in range(3):
        assert limited.get("/api/v1/settings/me", headers=adele).status_code == 200
    limited.get("/api/v1/health")
    (limiter,) = limited.application.extensions["limiter"]
    key = f"LIMITER/crm-rl/user:{CONTOSO}:{ADELE_OID}/global/{LIMIT}/1/minute"
    assert limiter.storage.get(key) == 3
    assert [k for k in limiter.storage.storage if "/global/" in k] == [key]


def test_several_limits_count_shortest_window_first_and_stop_at_the_first_over(make_app, clean_state, emulator):
    client = make_app(RATE_LIMIT="4 per hour; 2 per minute").test_client()
    adele = auth(emulator, ADELE)
    for _ in range(2):
        assert client.get("/api/v1/settings/me", headers=adele).status_code == 200
    refused = client.get("/api/v1/settings/me", headers=adele)
    assert_throttled(refused)
    assert "at most 2 per 60 s" in refused.json["error"]["message"]
    (limiter,) = client.application.extensions["limiter"]
    user = f"crm-rl/user:{CONTOSO}:{ADELE_OID}/global"
    # The refused request counted against the minute, not against the hour.
    assert limiter.storage.get(f"LIMITER/{user}/2/1/minute") == 3
    assert limiter.storage.get(f"LIMITER/{user}/4/1/hour") == 2


def test_api_requests_do_not_run_flask_limiter(make_app, clean_state, emulator):
    # flask-limiter resolves its limits anew on each request it sees (CPU on every call);
    # on the API only its webhook limit is its own, so the other API requests skip it
    # (their per-user limit still counts them, in its storage).
    app = make_app(RATE_LIMIT=f"{LIMIT} per minute")
    (limiter,) = app.extensions["limiter"]
    app.add_url_rule("/api/v1/probe", "probe", lambda: {"seen": [str(each.limit) for each in limiter.current_limits]})
    client = app.test_client()
    adele = auth(emulator, ADELE)
    for _ in range(LIMIT):
        assert client.get("/api/v1/probe", headers=adele).json == {"seen": []}
    assert_throttled(client.get("/api/v1/probe", headers=adele))


def test_when_the_counters_storage_fails_the_limit_counts_in_memory(make_app, clean_state, emulator, caplog):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    client = make_app(RATE_LIMIT=f"{LIMIT} per minute", RATELIMIT_STORAGE_URI=dead).test_client()
    adele = auth(emulator, ADELE)
    for _ in range(LIMIT):
        assert client.get("/api/v1/settings/me", headers=adele).status_code == 200
    assert_throttled(client.get("/api/v1/settings/me", headers=adele))
    assert "falling back to in-memory storage" in caplog.text


@pytest.mark.redis
def test_counting_returns_to_redis_once_it_answers_again(make_app, clean_state, emulator, tmp_path, caplog):
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("redis-server is not installed (make test installs it)")
    from redis import Redis  # an optional test dependency, like the server it talks to

    port = free_port()
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
    key = f"LIMITS:LIMITER/crm-rl/user:{CONTOSO}:{ADELE_OID}/global/{LIMIT}/1/minute"  # limits' prefix in Redis
    adele = auth(emulator, ADELE)
    with redis_server(binary, tmp_path / "first", port) as url:
        app = make_app(RATE_LIMIT=f"{LIMIT} per minute", RATELIMIT_STORAGE_URI=url)
        client = app.test_client()
        for _ in range(2):
            assert client.get("/api/v1/settings/me", headers=adele).status_code == 200
        assert int(Redis.from_url(url).get(key)) == 2
    # Redis is gone: requests go through, counted in this process's memory.
    for _ in range(2):
        assert client.get("/api/v1/settings/me", headers=adele).status_code == 200
    assert "falling back to in-memory storage" in caplog.text
    with redis_server(binary, tmp_path / "second", port) as url:
        user_limit = app.extensions["crm_user_limit"]
        user_limit.backend_checked_at -= 2**user_limit.backend_checks + 1  # the backoff has passed
        assert client.get("/api/v1/settings/me", headers=adele).status_code == 200
        assert not user_limit.storage_dead
        assert int(Redis.from_url(url).get(key)) == 1  # counted in the new server
