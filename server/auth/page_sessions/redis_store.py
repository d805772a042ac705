"""Page sessions in Redis (when REDIS_URL is set): one key per session, expiring with
it, and one set per user naming their sessions. An ended session's key is deleted:
a cookie naming a missing key is no session."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from server.auth.page_sessions.records import SessionRecord

PREFIX = "crm:page-session:"
SET_PREFIX = "crm:page-sessions:"
DATES = ("created_at", "last_seen_at", "expires_at", "checked_at", "revoked_at")


def _key(id_hash: str) -> str:
    return PREFIX + id_hash


def _user_key(tenant_id: str, user_id: int) -> str:
    return f"{SET_PREFIX}{tenant_id}:{user_id}"


def _tenant_key(tenant_id: str) -> str:
    return f"{SET_PREFIX}{tenant_id}"


def _dump(record: SessionRecord) -> str:
    values: dict[str, Any] = asdict(record)
    for name in DATES:
        values[name] = values[name].isoformat() if values[name] is not None else None
    return json.dumps(values)


def _load(text: bytes | str) -> SessionRecord:
    values = json.loads(text)
    for name in DATES:
        values[name] = datetime.fromisoformat(values[name]) if values[name] else None
    return SessionRecord(**values)


class RedisSessions:
    """`SessionStore` on Redis."""

    def __init__(self, redis_url: str):
        from redis import Redis  # loaded only where REDIS_URL is set

        self.redis = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)

    def _write(self, record: SessionRecord, *, only_if_present: bool) -> None:
        expire_at = int(record.expires_at.timestamp()) + 1
        self.redis.set(_key(record.id_hash), _dump(record), exat=expire_at, xx=only_if_present or None)

    def create(self, record: SessionRecord) -> None:
        self._write(record, only_if_present=False)
        pipe = self.redis.pipeline()
        for set_key in (_user_key(record.tenant_id, record.user_id), _tenant_key(record.tenant_id)):
            pipe.sadd(set_key, record.id_hash)
            # A set lives as long as its newest session (every session lives as long).
            pipe.expireat(set_key, int(record.expires_at.timestamp()) + 1)
        pipe.execute()

    def get(self, id_hash: str) -> SessionRecord | None:
        text = self.redis.get(_key(id_hash))
        return _load(text) if text else None

    def save(self, record: SessionRecord) -> None:
        # XX: a session ended meanwhile (its key deleted) is not brought back.
        self._write(record, only_if_present=True)

    def of_user(self, tenant_id: str, user_id: int, now: datetime) -> list[SessionRecord]:
        return self._members(_user_key(tenant_id, user_id), now)

    def of_tenant(self, tenant_id: str, now: datetime) -> list[SessionRecord]:
        return self._members(_tenant_key(tenant_id), now)

    def _members(self, set_key: str, now: datetime) -> list[SessionRecord]:
        """The live sessions a set names; names of sessions gone are dropped from it."""
        hashes = sorted(h.decode() if isinstance(h, bytes) else h for h in self.redis.smembers(set_key))
        records, gone = [], []
        for id_hash, text in zip(hashes, self.redis.mget([_key(h) for h in hashes]) if hashes else [], strict=True):
            if text is None:
                gone.append(id_hash)
                continue
            record = _load(text)
            if record.live(now):
                records.append(record)
        if gone:
            self.redis.srem(set_key, *gone)
        return sorted(records, key=lambda r: r.created_at, reverse=True)

    def revoke(self, id_hashes: list[str], reason: str, now: datetime) -> int:
        ended = 0
        for id_hash in id_hashes:
            record = self.get(id_hash)
            if record is None:
                continue
            ended += int(self.redis.delete(_key(id_hash)))
            self.redis.srem(_user_key(record.tenant_id, record.user_id), id_hash)
            self.redis.srem(_tenant_key(record.tenant_id), id_hash)
        return ended
