"""Graph's `$batch`: requests in calls of 20, dependsOn chains kept together, inner
throttling retried within the call's wait budget."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .endpoint import GraphEndpoint
from .errors import GraphError, error_from_body, parse_retry_after
from .odata import header_value, response_json
from .pacer import Spent
from .transport import RETRY_STATUSES, Deadline, merge_prefer

BATCH_LIMIT = 20  # Graph's $batch maximum


@dataclass
class BatchRequest:
    """One request inside a `$batch`; `url` is relative to the Graph base URL."""

    id: str
    method: str
    url: str
    body: Any = None
    headers: dict | None = None
    depends_on: list[str] | None = None


@dataclass
class BatchResponse:
    id: str
    status: int
    headers: dict = field(default_factory=dict)
    body: Any = None
    retry_after: float | None = None  # set when the wait budget ran out before a retry

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error(self) -> GraphError | None:
        """The typed error of a failed response, None when it succeeded."""
        if self.ok:
            return None
        error = error_from_body(self.status, self.body if isinstance(self.body, dict) else None, self.headers)
        if self.retry_after is not None:
            error.retry_after = self.retry_after
        return error


def _batch_chunks(requests_: Sequence[BatchRequest]) -> list[list[BatchRequest]]:
    """Split into $batch-sized chunks, keeping each dependsOn chain in one chunk."""
    by_id = {r.id: r for r in requests_}
    if len(by_id) != len(requests_):
        raise ValueError("batch request ids must be unique")
    parent = {r.id: r.id for r in requests_}

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r in requests_:
        for dep in r.depends_on or ():
            if dep not in by_id:
                raise ValueError(f"request {r.id!r} depends on unknown request {dep!r}")
            parent[root(r.id)] = root(dep)
    groups: dict[str, list[BatchRequest]] = {}
    for r in requests_:
        groups.setdefault(root(r.id), []).append(r)
    chunks: list[list[BatchRequest]] = []
    current: list[BatchRequest] = []
    for group in groups.values():
        if len(group) > BATCH_LIMIT:
            raise ValueError(f"a dependsOn chain of {len(group)} requests exceeds {BATCH_LIMIT}")
        if len(current) + len(group) > BATCH_LIMIT:
            chunks.append(current)
            current = []
        current.extend(group)
    if current:
        chunks.append(current)
    return chunks


class BatchOperations(GraphEndpoint):
    """`batch()`: many requests in few calls."""

    def batch(self, requests_: Sequence[BatchRequest]) -> list[BatchResponse]:
        """Send requests in `$batch` calls of 20 (dependsOn chains kept together).

        Inner 429/503/504 answers are retried, alone, honouring their Retry-After,
        within each call's wait budget; dependents that failed only because their
        dependency was throttled (424) are retried with it. Returns one response per
        request, in order; a request still failing carries its status (see
        `BatchResponse.error()`). Raises GraphError when a `$batch` call itself fails.
        """
        results: dict[str, BatchResponse] = {}
        chunks = collections.deque(_batch_chunks(requests_))
        while chunks:
            chunk = chunks.popleft()
            deadline = self.transport.deadline()
            paid = None
            if len(chunk) > 1 and not any(r.depends_on for r in chunk):
                # Under the mailbox's budget, send as many parts as it has room for now
                # rather than wait with that room unused until there is room for all.
                paid = self.transport.pay(len(chunk), deadline, partial=True)
                if paid is not None and paid.cost < len(chunk):
                    chunks.appendleft(chunk[paid.cost :])
                    chunk = chunk[: paid.cost]
            results.update(self._batch_chunk(chunk, deadline, paid))
        return [results[r.id] for r in requests_]

    def _batch_payload(self, request: BatchRequest, pending_ids: set[str]) -> dict:
        headers = {}
        prefer = None
        for key, value in (request.headers or {}).items():
            if key.lower() == "prefer":
                prefer = value
            else:
                headers[key] = value
        headers["Prefer"] = merge_prefer(prefer)
        item = {"id": request.id, "method": request.method.upper(), "url": request.url, "headers": headers}
        if request.body is not None:
            item["body"] = request.body
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        depends = [d for d in (request.depends_on or ()) if d in pending_ids]
        if depends:
            item["dependsOn"] = depends
        return item

    def _batch_chunk(
        self, chunk: list[BatchRequest], deadline: Deadline | None = None, paid: Spent | None = None
    ) -> dict[str, BatchResponse]:
        """One `$batch` call (and its inner retries); `paid`: the budget taken ahead for it."""
        transport = self.transport
        deadline = deadline or transport.deadline()
        idempotent = all(r.method.upper() != "POST" for r in chunk)
        results: dict[str, BatchResponse] = {}
        pending = chunk
        attempt = 0
        while pending:
            pending_ids = {r.id for r in pending}
            body = {"requests": [self._batch_payload(r, pending_ids) for r in pending]}
            answer = response_json(
                transport.request(
                    "POST", f"{self.base_url}/$batch", json=body, idempotent=idempotent, deadline=deadline, paid=paid
                )
            )
            paid = None  # a retry of throttled parts pays for itself
            got = {}
            for item in answer.get("responses") or ():
                got[str(item.get("id"))] = BatchResponse(
                    id=str(item.get("id")),
                    status=int(item.get("status", 500)),
                    headers=item.get("headers") or {},
                    body=item.get("body"),
                )
            for r in pending:
                got.setdefault(
                    r.id,
                    BatchResponse(
                        r.id,
                        502,
                        {},
                        {
                            "error": {
                                "code": "MissingBatchResponse",
                                "message": "Graph's $batch answer had no response for this request",
                            }
                        },
                    ),
                )
            results.update(got)
            throttled = sum(1 for r in pending if got[r.id].status == 429)
            retry = {r.id for r in pending if got[r.id].status in RETRY_STATUSES}
            grew = True
            while grew:  # dependents that failed because a dependency is being retried
                grew = False
                for r in pending:
                    if r.id not in retry and got[r.id].status == 424 and retry.intersection(r.depends_on or ()):
                        retry.add(r.id)
                        grew = True
            if not retry:
                break
            waits = [parse_retry_after(header_value(got[i].headers, "Retry-After")) for i in retry]
            waits = [w for w in waits if w is not None]
            delay = max(waits) if waits else transport.backoff(attempt)
            if throttled:
                transport.throttled(delay, throttled)
            if delay > deadline.remaining():
                for i in retry:
                    results[i].retry_after = delay
                break
            transport.sleep(delay)
            attempt += 1
            pending = [r for r in pending if r.id in retry]
        return results
