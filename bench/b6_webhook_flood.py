"""B6: a flood of forged change notifications against the webhook, under gunicorn.

    python -m bench b6 [--requests N] [--workers W] [--no-write]

One gunicorn (gunicorn.conf.py's gthread workers, as B1 and production) against the emulator, a sequential client, N
requests of each kind, side by side (the kinds take turns in ROUNDS rounds, so
drift hits each alike):
- health: GET /api/v1/health, the bare JSON baseline;
- forged: POST /api/v1/notifications, one notification naming a real subscription
  with a wrong clientState (403);
- forged, unknown subscription: a random subscription id (403);
- forged, no clientState: refused before any query (403), so the difference from
  "forged" is what the subscription lookup costs;
- forged x1000: one body of MAX_NOTIFICATIONS notifications with wrong clientStates (403);
- accepted, echo: the real clientState, for a message the CRM holds as settled (the
  echo of our own PATCH: 202, no job);
- accepted, new: the real clientState for a newly delivered message (202 and one
  job, which the worker's job threads then run: one Graph GET, and the message is
  left alone in mode "marked"; its CPU includes that job).
Wall time is per request at the client; server CPU is the gunicorn processes' CPU
over each kind's requests (and, for "accepted, new", their jobs) divided by their
number. The verdict: forged requests queue no job and make no Graph or token call
(the CPU and wall ratios are figures, not targets; the per-IP webhook rate limit,
WEBHOOK_RATE_LIMIT, is what bounds a flood's total).
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bench.b1_pane_api import workers_cpu_s
from bench.results import machine, percentile, write_section
from bench.stack import ADELE, CONTOSO, backend_env, emulator, gunicorn
from server import migrate
from server.crm.filing import set_item_state
from server.crm.models import Subscription, SyncJob
from server.crm.tenants import get_or_create_user
from server.crm.types import utcnow
from server.db import make_engine
from server.routes.notifications import MAX_NOTIFICATIONS
from server.sync.subscriptions import FOLDERS, hash_client_state

OPTIONS = ("--requests", "--workers", "--no-write")
HEADING = "## B6: webhook flood of forged notifications"
ROUNDS = 3
WARMUP = 60
ECHO_ID = "AAMkAG-b6-echo"
KINDS = (
    "health",
    "forged",
    "forged, unknown subscription",
    "forged, no clientState",
    f"forged x{MAX_NOTIFICATIONS}",
    "accepted, echo",
    "accepted, new",
)
FORGED = KINDS[1:5]


def seed(database_url: str, adele_oid: str) -> tuple[str, str]:
    """Adele with automatic sync on and subscriptions on both folders, as the server
    stores them; returns (a subscription id, its clientState)."""
    engine = make_engine(database_url)
    with sessionmaker(bind=engine, expire_on_commit=False)() as session:
        user = get_or_create_user(session, CONTOSO, adele_oid, ADELE, "Adele Vance")
        user.update_settings(auto_sync="marked")
        secret = secrets.token_urlsafe(32)
        ids = []
        for folder in FOLDERS:
            ids.append(f"b6-{folder}-{secrets.token_hex(8)}")
            session.add(
                Subscription(
                    tenant_id=CONTOSO,
                    user_id=user.id,
                    subscription_id=ids[-1],
                    resource=f"users/{adele_oid}/mailFolders('{folder}')/messages",
                    folder=folder,
                    client_state_hash=hash_client_state(secret),
                    expires_at=utcnow() + timedelta(days=2),
                )
            )
        session.commit()
        set_item_state(session, CONTOSO, user, ECHO_ID, "excluded")
    engine.dispose()
    return ids[0], secret


def note(subscription_id: str, client_state: str, message_id: str) -> dict:
    return {
        "subscriptionId": subscription_id,
        "clientState": client_state,
        "changeType": "created",
        "resource": f"Users/x/Messages/{message_id}",
        "resourceData": {"id": message_id},
        "tenantId": CONTOSO,
        "subscriptionExpirationDateTime": "2030-01-01T00:00:00Z",
    }


def request_for(kind: str, base: str, subscription_id: str, secret: str, fresh: list[str]) -> tuple:
    """(method, url, json body, expected status) of one request of `kind`."""
    url = base + "/api/v1/notifications"
    if kind == "health":
        return "GET", base + "/api/v1/health", None, 200
    if kind == "forged":
        return "POST", url, {"value": [note(subscription_id, secrets.token_urlsafe(32), "m")]}, 403
    if kind == "forged, unknown subscription":
        return "POST", url, {"value": [note(secrets.token_hex(16), secrets.token_urlsafe(32), "m")]}, 403
    if kind == "forged, no clientState":
        return "POST", url, {"value": [{**note(subscription_id, "", "m"), "clientState": None}]}, 403
    if kind.startswith("forged x"):
        return (
            "POST",
            url,
            {"value": [note(subscription_id, secrets.token_urlsafe(32), f"m{n}") for n in range(MAX_NOTIFICATIONS)]},
            403,
        )
    if kind == "accepted, echo":
        return "POST", url, {"value": [note(subscription_id, secret, ECHO_ID)]}, 202
    return "POST", url, {"value": [note(subscription_id, secret, fresh.pop())]}, 202


def jobs_settled(database_url: str, timeout_s: float = 120) -> int:
    """Waits until no job is queued or running; returns how many jobs exist."""
    engine = make_engine(database_url)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with engine.connect() as conn:
                busy = conn.scalar(
                    select(func.count())
                    .select_from(SyncJob)
                    .where(SyncJob.state.in_(("queued", "running", "retrying")))
                )
                total = conn.scalar(select(func.count()).select_from(SyncJob))
            if not busy:
                return total
            if time.monotonic() > deadline:
                raise RuntimeError(f"{busy} jobs still busy after {timeout_s} s")
            time.sleep(0.05)
    finally:
        engine.dispose()


def run(count: int, workers: int) -> dict:
    per_round = max(1, count // ROUNDS)
    with tempfile.TemporaryDirectory(prefix="bench-b6-") as tmp, emulator(Path(tmp) / "emulator") as emu:
        database_url = f"sqlite:///{tmp}/crm.sqlite3"
        migrate.upgrade(database_url)
        subscription_id, secret = seed(database_url, emu.user(ADELE)["oid"])
        fresh = emu.admin(
            "POST",
            "messages/bulk",
            json={
                "upn": ADELE,
                "folder": "inbox",
                "messages": [
                    {
                        "subject": f"B6 new message {n}",
                        "from": {"emailAddress": {"name": "Someone", "address": f"someone{n}@example.org"}},
                        "toRecipients": [{"emailAddress": {"name": "Adele", "address": ADELE}}],
                        "body": {"contentType": "text", "content": "Hello"},
                    }
                    for n in range(WARMUP + per_round * ROUNDS)
                ],
            },
        ).json()["ids"]
        env = backend_env(emu, database_url, Path(tmp))
        walls: dict[str, list[float]] = {k: [] for k in KINDS}
        cpu_ms: dict[str, float] = {k: 0.0 for k in KINDS}
        done: dict[str, int] = {k: 0 for k in KINDS}
        forged_jobs = forged_graph_calls = 0
        with gunicorn(env, workers, Path(tmp) / "gunicorn.log") as base:
            http = requests.Session()

            def send(kind: str) -> float:
                method, url, body, expected = request_for(kind, base, subscription_id, secret, fresh)
                started = time.perf_counter()
                response = http.request(method, url, json=body, timeout=30)
                wall = (time.perf_counter() - started) * 1000
                if response.status_code != expected:
                    raise RuntimeError(f"{kind}: {response.status_code} {response.text[:300]}")
                return wall

            # Every worker's first request starts its scheduler (a delta round, the
            # upkeep) and warms its token and JWKS caches: none of that is measured.
            for n in range(WARMUP):
                send(KINDS[n % len(KINDS)])
            jobs_settled(database_url)
            for _ in range(ROUNDS):
                for kind in KINDS:
                    jobs_before = jobs_settled(database_url)
                    emu.clear_requests()
                    before = workers_cpu_s(base)
                    for _ in range(per_round):
                        walls[kind].append(send(kind))
                    jobs_after = jobs_settled(database_url)
                    cpu_ms[kind] += (workers_cpu_s(base) - before) * 1000
                    done[kind] += per_round
                    if kind in FORGED:
                        forged_jobs += jobs_after - jobs_before
                        forged_graph_calls += len(emu.requests())
    return {
        "walls": walls,
        "cpu": {k: cpu_ms[k] / done[k] for k in KINDS},
        "count": per_round * ROUNDS,
        "workers": workers,
        "forged_jobs": forged_jobs,
        "forged_graph_calls": forged_graph_calls,
        "load": os.getloadavg(),
    }


def summarise(result: dict) -> tuple[list[str], bool]:
    walls, cpu = result["walls"], result["cpu"]
    health_wall = percentile(walls["health"], 50)
    lines = [
        f"{result['count']} requests of each kind ({ROUNDS} rounds, kinds in turn), gunicorn -w "
        f"{result['workers']} (gunicorn.conf.py: gthread), SQLite, sequential client; times in ms",
        f"{'':34} {'wall p50':>8} {'p95':>7} {'x health':>8}  {'CPU/req':>7} {'x health':>8}",
    ]
    for kind in KINDS:
        p50, p95 = percentile(walls[kind], 50), percentile(walls[kind], 95)
        lines.append(
            f"{kind:34} {p50:8.2f} {p95:7.2f} {p50 / health_wall:8.2f}  {cpu[kind]:7.2f} "
            f"{cpu[kind] / cpu['health']:8.2f}"
        )
    big = f"forged x{MAX_NOTIFICATIONS}"
    lines.append(
        f"{big}: {cpu[big] / MAX_NOTIFICATIONS * 1000:.1f} us CPU per forged notification "
        f"(a {MAX_NOTIFICATIONS}-notification body is the most one request may carry)"
    )
    lines.append("accepted, new: CPU includes running the job it queues (one Graph GET of the message)")
    lookup = cpu["forged"] - cpu["forged, no clientState"]
    lines.append(
        f"the subscription lookup: {lookup:.2f} ms CPU of a forged request's {cpu['forged']:.2f} "
        f"(forged minus forged without clientState)"
    )
    ok = not result["forged_jobs"] and not result["forged_graph_calls"]
    lines.append(
        f"forged requests: {result['forged_jobs']} jobs queued, {result['forged_graph_calls']} Graph or "
        f"token calls (target 0 and 0: {'PASS' if ok else 'FAIL'})"
    )
    lines.append(
        "load average during the run: "
        + " ".join(f"{v:.1f}" for v in result["load"])
        + " (shared cores: wall times include waiting for one)"
    )
    return lines, ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args, _ = parser.parse_known_args(argv)
    result = run(args.requests, args.workers)
    lines, ok = summarise(result)
    print("\n".join(lines))
    if not args.no_write:
        write_section(
            "b6",
            HEADING,
            f"`python -m bench b6`: {machine()}.\n\n```\n" + "\n".join(lines) + "\n```\n\n" + reading(result),
        )
    return 0 if ok else 1


def reading(result: dict) -> str:
    """What the figures decide: whether the lookup deserves an in-process cache."""
    cpu = result["cpu"]
    lookup = cpu["forged"] - cpu["forged, no clientState"]
    return (
        f"The one indexed lookup is {lookup:.2f} ms of a forged request's {cpu['forged']:.2f} ms CPU. "
        "An in-process cache of subscription id -> clientState hash would save it only for forgeries "
        "that name a real subscription id, which only Graph and we know; forgeries with made-up ids "
        f'("unknown subscription", {cpu["forged, unknown subscription"]:.2f} ms) would miss it every '
        "time, and it would keep accepting a dropped subscription's secret until its TTL ran out. So "
        "there is none: the per-IP webhook limit (WEBHOOK_RATE_LIMIT, 6000 a minute by default, "
        "counted per process unless REDIS_URL is set) bounds what one address can make a process "
        f"spend to about {100 * cpu['forged'] / 1000:.2f} CPU-seconds a second."
    )
