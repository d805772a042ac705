"""The pane's recent reads (server/sync/recent_reads.py): held for one user and one
message, taken once, for a bounded time, and only when a conditional write can be
checked against them. The HTTP paths are in tests/server/routes/test_open_then_sync.py."""

from __future__ import annotations

import pytest

from server.sync.recent_reads import MAX_BODY_CHARS, LocalReads, RedisReads, redis_key

ADELE = ("tenant-a", "oid-adele", "AAMk-message=")
MEGAN = ("tenant-a", "oid-megan", "AAMk-message=")
OTHER_TENANT = ("tenant-b", "oid-adele", "AAMk-message=")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def read(etag='W/"CQAAAB1"', body="<p>Order 42</p>") -> dict:
    return {"id": "AAMk-message=", "@odata.etag": etag, "body": {"contentType": "html", "content": body}}


def test_a_read_is_given_back_once_and_only_to_its_own_user():
    reads = LocalReads(ttl_s=120, clock=Clock())
    reads.keep(ADELE, read())

    assert reads.take(MEGAN) is None and reads.take(OTHER_TENANT) is None
    assert reads.take(ADELE) == read()
    assert reads.take(ADELE) is None  # taken: the next sync reads again


def test_a_read_expires():
    clock = Clock()
    reads = LocalReads(ttl_s=120, clock=clock)
    reads.keep(ADELE, read())
    clock.now += 120
    assert reads.take(ADELE) is None


def test_a_later_open_replaces_the_read_and_the_oldest_go_past_the_bound():
    reads = LocalReads(ttl_s=120, max_entries=2, clock=Clock())
    reads.keep(ADELE, read('W/"1"'))
    reads.keep(ADELE, read('W/"2"'))
    reads.keep(MEGAN, read())
    reads.keep(OTHER_TENANT, read())
    assert reads.take(ADELE) is None  # the oldest, dropped
    assert reads.take(MEGAN) == read() and reads.take(OTHER_TENANT) == read()


def test_only_reads_a_conditional_write_can_rely_on_are_kept():
    reads = LocalReads(ttl_s=120, clock=Clock())
    reads.keep(ADELE, {k: v for k, v in read().items() if k != "@odata.etag"})
    reads.keep(MEGAN, read(body="x" * (MAX_BODY_CHARS + 1)))
    reads.keep(OTHER_TENANT, {**read(), "isDraft": True})  # a draft's body may still change
    assert reads.take(ADELE) is None and reads.take(MEGAN) is None and reads.take(OTHER_TENANT) is None
    reads.keep(ADELE, {**read(), "isDraft": False})
    assert reads.take(ADELE) is not None


def test_redis_keys_name_no_user_and_differ_per_user_tenant_and_message():
    keys = {redis_key(k) for k in (ADELE, MEGAN, OTHER_TENANT, ("tenant-a", "oid-adele", "other"))}
    assert len(keys) == 4
    assert not any("adele" in k or "tenant" in k for k in keys)


@pytest.mark.redis
def test_in_redis_a_read_is_shared_taken_once_and_expires(redis_url):
    first, second = RedisReads(redis_url, ttl_s=120), RedisReads(redis_url, ttl_s=120)
    first.clear()
    first.keep(ADELE, read())

    assert second.take(MEGAN) is None
    assert second.take(ADELE) == read()
    assert first.take(ADELE) is None
    first.keep(ADELE, read())
    assert 0 < first.redis.pttl(redis_key(ADELE)) <= 120_000  # Redis drops it on its own


def test_an_unreachable_redis_is_a_miss_not_a_failure():
    reads = RedisReads("redis://127.0.0.1:1/0", ttl_s=120)
    reads.keep(ADELE, read())
    assert reads.take(ADELE) is None
