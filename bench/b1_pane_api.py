"""B1: pane open and sync overhead, the server under gunicorn against the emulator.

    python -m bench b1 [--rounds N] [--workers W] [--no-write]

Each round asks, in turn, for GET /api/v1/health (a bare JSON endpoint, the
baseline), GET /api/v1/messages/{id} (what the pane does on open) and
POST /api/v1/messages/{id}/sync, on a distinct freshly delivered message each round.
The emulator logs its own time per request (duration_ms); a request's Graph and
token calls are those the emulator logged inside its time window (the client is
sequential, so windows do not overlap; app-only ones are background work, the catch-up
an open queues, and left out), and the server's overhead is the wall time minus their
time. The open sends the message's people as the pane does (`?people=`,
what Office.js shows), so the message and their Outlook contacts take one $batch.
The sync reuses that read (server/sync/recent_reads.py): the client keeps one connection
alive, so a round's open and sync reach the same worker process, as a pane's do within
gunicorn's keep-alive (across processes the read is shared through REDIS_URL).
Targets: overhead p95 <= 15 ms open, <= 30 ms sync; Graph calls 1 (open), and 2 for
open then sync of one message (one read, one write), in every round; server CPU per
request (gunicorn's master and workers, measured with psutil one kind at a time) at most
4x the bare health endpoint's for an open and 5x for a sync.
`python -m bench.b1_profile` shows where that CPU goes.
"""

from __future__ import annotations

import argparse
import os
import runpy
import tempfile
import time
from pathlib import Path

import psutil
import requests
from sqlalchemy.orm import sessionmaker

from bench.results import ROOT, machine, percentile, write_section
from bench.stack import ADELE, CONTOSO, backend_env, emulator, gunicorn
from server import migrate
from server.crm.models import Company, Contact
from server.crm.tenants import get_or_create_tenant
from server.db import make_engine
from server.tls import http_session

OPTIONS = ("--rounds", "--workers", "--no-write")
HEADING = "## B1: pane open and sync overhead"
TARGET_OPEN_MS, TARGET_SYNC_MS = 15.0, 30.0
# Server CPU per request as a multiple of the health endpoint's, under the same gunicorn.
TARGET_CPU_RATIO = {"open": 4.0, "sync": 5.0}
TARGET_PAIR_CALLS = 2  # open then sync of one message: the open's read and the sync's write
KNOWN = 20  # CRM contacts the benchmark's correspondents match
CPU_PHASE = 200  # opens and syncs for the CPU-time figures
CPU_HEALTH = 600  # health requests for them (about 1 ms of CPU each: more ticks to count)
CPU_PASSES = 4  # the kinds take turns in this many blocks
WARMUP = 24  # rounds per run that warm every worker (OBO token, JWKS, categories)


def seed_crm(database_url: str) -> None:
    engine = make_engine(database_url)
    with sessionmaker(bind=engine)() as session:
        get_or_create_tenant(session, CONTOSO)
        companies = [Company(tenant_id=CONTOSO, name=f"Company {n}", name_key=f"company {n}") for n in range(5)]
        session.add_all(companies)
        for n in range(KNOWN):
            contact = Contact(
                tenant_id=CONTOSO,
                first_name=f"Known{n}",
                last_name="Person",
                display_name=f"Known{n} Person",
                company=companies[n % 5],
            )
            session.add(contact)
            contact.add_address(f"known{n}@northwind.example")
        session.commit()
    engine.dispose()


def shown_people(message_: dict) -> str:
    """The pane's `people` query: From, To and Cc as Office.js shows them."""
    entries = [message_["from"], *message_["toRecipients"], *message_["ccRecipients"]]
    return ",".join(e["emailAddress"]["address"] for e in entries)


def message(n: int) -> dict:
    """A typical business message: from a known contact, to the user and three others
    (two known), two on Cc (one known)."""

    def person(address):
        return {"emailAddress": {"name": address.split("@")[0].title(), "address": address}}

    return {
        "subject": f"B1 round {n}",
        "from": person(f"known{n % KNOWN}@northwind.example"),
        "toRecipients": [
            person(ADELE),
            person(f"known{(n + 1) % KNOWN}@northwind.example"),
            person(f"known{(n + 2) % KNOWN}@northwind.example"),
            person(f"stranger{n}@example.org"),
        ],
        "ccRecipients": [person(f"known{(n + 3) % KNOWN}@northwind.example"), person(f"cc{n}@example.net")],
        "body": {"contentType": "html", "content": f"<p>Order {n}: <b>42 units</b></p>" * 20},
        "internetMessageId": f"<b1-{n}-{time.time_ns()}@northwind.example>",
    }


class Timed:
    def __init__(self, kind: str, started: float, ended: float, status: int):
        self.kind, self.started, self.ended, self.status = kind, started, ended, status
        self.upstream_ms = 0.0
        self.graph_calls = 0
        self.token_calls = 0

    @property
    def wall_ms(self) -> float:
        return (self.ended - self.started) * 1000

    @property
    def overhead_ms(self) -> float:
        return self.wall_ms - self.upstream_ms


def attribute(timed: list[Timed], log: list[dict]) -> int:
    """Adds each logged emulator request to the client request whose window holds it;
    returns how many were left over (none expected)."""
    pad = 0.0006  # the log's ts has millisecond resolution
    left = 0
    windows = sorted(timed, key=lambda t: t.started)
    for entry in log:
        if entry.get("in_batch"):
            continue  # a $batch's parts: counted and timed in the $batch itself
        if entry.get("app_only"):
            continue  # background work (the catch-up an open queues), not the pane request's own
        owner = next((t for t in windows if t.started - pad <= entry["ts"] <= t.ended + pad), None)
        if owner is None:
            left += 1
            continue
        owner.upstream_ms += entry["duration_ms"]
        if entry["path"].startswith("/v1.0"):
            owner.graph_calls += 1
        else:
            owner.token_calls += 1
    return left


def call(http: requests.Session, kind: str, method: str, url: str, **kw) -> Timed:
    started = time.time()
    response = http.request(method, url, timeout=30, **kw)
    ended = time.time()
    if response.status_code != 200:
        raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:300]}")
    return Timed(kind, started, ended, response.status_code)


def connection_cost_ms(emu, tmp: Path, samples: int = 40) -> tuple[float, int]:
    """Median cost of one Graph call outside the emulator's own time, seen from a client
    like the server's (server.tls.http_session), and how many connections the calls opened.
    The emulator keeps connections alive, as Graph does, so this is the HTTP round trip on
    a reused connection, not a TCP + TLS setup per call."""
    session = http_session({"CA_BUNDLE": emu.ca_path, "INSTANCE_DIR": str(tmp)})
    headers = {"Authorization": f"Bearer {emu.graph_token(ADELE)}"}
    url = emu.graph_url + "/me/mailFolders/inbox"
    session.get(url, headers=headers, timeout=10)
    emu.clear_requests()
    walls = []
    for _ in range(samples):
        started = time.perf_counter()
        session.get(url, headers=headers, timeout=10).raise_for_status()
        walls.append((time.perf_counter() - started) * 1000)
    upstream = [e["duration_ms"] for e in emu.requests()]
    pools = session.get_adapter(url).poolmanager.pools
    connections = sum(pools[key].num_connections for key in pools.keys())
    return percentile(walls, 50) - percentile(upstream, 50), connections


def workers_cpu_s(base: str) -> float:
    """CPU seconds (user + system) used so far by the gunicorn serving `base`: its master
    and workers, each once."""
    port = int(base.rsplit(":", 1)[1])
    seen: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "gunicorn" in " ".join(cmdline) and f"127.0.0.1:{port}" in cmdline:
            seen[proc.pid] = proc
    total = 0.0
    for proc in seen.values():
        times = proc.cpu_times()
        total += times.user + times.system
    return total


def cpu_per_request(
    base: str, http: requests.Session, opened: list[str], fresh: list[str], primed: list[str], people: dict[str, str]
) -> dict:
    """Server CPU ms per request of each kind: health, open (of messages already seen),
    sync of fresh messages (a read and a write: the verdict's sync), and, informative,
    the sync of the pane's own flow (`sync after open`: each message opened just before,
    outside the count, so the sync reuses that read). CPU time hardly depends on what
    else the machine runs, unlike wall time, but the kinds still take turns, CPU_PASSES
    blocks each, so that whatever the machine does meanwhile weighs on all alike. The
    kernel counts CPU time in 10 ms ticks per process, so every kind runs hundreds of
    requests (health, the cheapest and the divisor of the ratios, the most)."""
    kinds = {
        "health": ("GET", [(f"{base}/api/v1/health", None)] * CPU_HEALTH),
        "open": ("GET", [(f"{base}/api/v1/messages/{m}", {"people": people[m]}) for m in opened]),
        "sync": ("POST", [(f"{base}/api/v1/messages/{m}/sync", None) for m in fresh]),
        "sync after open": ("POST", [(f"{base}/api/v1/messages/{m}/sync", None) for m in primed]),
    }
    used = dict.fromkeys(kinds, 0.0)
    counts = dict.fromkeys(kinds, 0)
    for n in range(CPU_PASSES):
        for kind, (method, urls) in kinds.items():
            block = urls[n::CPU_PASSES]
            if kind == "sync after open":
                for m in primed[n::CPU_PASSES]:
                    call(http, "open", "GET", f"{base}/api/v1/messages/{m}", params={"people": people[m]})
            before = workers_cpu_s(base)
            for url, params in block:
                call(http, kind, method, url, params=params)
            used[kind] += workers_cpu_s(base) - before
            counts[kind] += len(block)
    return {kind: used[kind] * 1000 / counts[kind] for kind in kinds}


def run(rounds: int, workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-b1-") as tmp, emulator(Path(tmp) / "emulator") as emu:
        database_url = f"sqlite:///{tmp}/crm.sqlite3"
        migrate.upgrade(database_url)
        seed_crm(database_url)
        # One user sends ~1,000 requests in seconds here; the limiter still runs (its cost is
        # part of the overhead), with room for them.
        env = {**backend_env(emu, database_url, Path(tmp)), "RATE_LIMIT": "100000 per minute"}
        messages = [message(n) for n in range(WARMUP + rounds + 2 * CPU_PHASE)]
        delivered = emu.admin(
            "POST", "messages/bulk", json={"upn": ADELE, "folder": "inbox", "messages": messages}
        ).json()["ids"]
        people = dict(zip(delivered, map(shown_people, messages)))
        delivered, fresh, primed = (
            delivered[: WARMUP + rounds],
            delivered[WARMUP + rounds : WARMUP + rounds + CPU_PHASE],
            delivered[WARMUP + rounds + CPU_PHASE :],
        )
        token = emu.pane_token(ADELE)
        per_call, connections = connection_cost_ms(emu, Path(tmp))
        with gunicorn(env, workers, Path(tmp) / "gunicorn.log") as base:
            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {token}"
            timed: list[Timed] = []
            for n, message_id in enumerate(delivered):
                if n == WARMUP:
                    emu.clear_requests()
                    timed = []
                timed.append(call(http, "health", "GET", f"{base}/api/v1/health"))
                timed.append(
                    call(
                        http,
                        "open",
                        "GET",
                        f"{base}/api/v1/messages/{message_id}",
                        params={"people": people[message_id]},
                    )
                )
                timed.append(call(http, "sync", "POST", f"{base}/api/v1/messages/{message_id}/sync"))
            log = emu.requests()
            seen = delivered[WARMUP:]
            opened = [seen[n % len(seen)] for n in range(CPU_PHASE)]
            cpu = cpu_per_request(base, http, opened, fresh, primed, people)
    left = attribute(timed, log)
    return {
        "timed": timed,
        "unattributed": left,
        "rounds": rounds,
        "workers": workers,
        "connection_ms": per_call,
        "connections": connections,
        "cpu": cpu,
        "load": os.getloadavg(),
    }


def summarise(result: dict) -> tuple[list[str], bool]:
    timed = result["timed"]
    by_kind = {k: [t for t in timed if t.kind == k] for k in ("health", "open", "sync")}
    health_p50 = percentile([t.wall_ms for t in by_kind["health"]], 50)
    health_p95 = percentile([t.wall_ms for t in by_kind["health"]], 95)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))  # gunicorn reads it from its cwd
    lines = [
        f"{result['rounds']} rounds, gunicorn -w {result['workers']} (gunicorn.conf.py: "
        f"{config['worker_class']}, {config['threads']} threads), SQLite, "
        f"emulator latency 0; times in ms",
        f"{'':22} {'p50':>7} {'p95':>7} {'p99':>7}  {'x health p50/p95':>17}",
    ]
    ok = True
    for kind in ("health", "open", "sync"):
        rows = by_kind[kind]
        for label, values in (
            ("wall", [t.wall_ms for t in rows]),
            ("Graph+token (emul.)", [t.upstream_ms for t in rows]),
            ("server overhead", [t.overhead_ms for t in rows]),
        ):
            if kind == "health" and label != "wall":
                continue
            p50, p95, p99 = (percentile(values, p) for p in (50, 95, 99))
            ratio = f"{p50 / health_p50:6.1f} / {p95 / health_p95:5.1f}" if label != "Graph+token (emul.)" else ""
            lines.append(f"{kind + ' ' + label:22} {p50:7.1f} {p95:7.1f} {p99:7.1f}  {ratio:>17}")
    for kind, target in (("open", TARGET_OPEN_MS), ("sync", TARGET_SYNC_MS)):
        p95 = percentile([t.overhead_ms for t in by_kind[kind]], 95)
        verdict = "PASS" if p95 <= target else "FAIL"
        ok &= p95 <= target
        lines.append(f"{kind}: overhead p95 {p95:.1f} ms, target <= {target:.0f} ms: {verdict}")
    for kind, limit in (("open", 1), ("sync", None)):
        calls = sorted({t.graph_calls for t in by_kind[kind]})
        tokens = sum(t.token_calls for t in by_kind[kind])
        verdict = "informative" if limit is None else "PASS" if max(calls) <= limit else "FAIL"
        ok &= limit is None or max(calls) <= limit
        lines.append(
            f"{kind}: Graph calls per operation {calls} ({'' if limit is None else f'target <= {limit}: '}"
            f"{verdict}); token/metadata calls in the measured rounds: {tokens}"
        )
    # by_kind keeps the rounds' order: the n-th open and the n-th sync are one message's.
    pairs = sorted({o.graph_calls + s.graph_calls for o, s in zip(by_kind["open"], by_kind["sync"], strict=True)})
    ok &= pairs == [TARGET_PAIR_CALLS]
    lines.append(
        f"open then sync of one message: Graph calls in all {pairs} (target {TARGET_PAIR_CALLS}, one read and "
        f"one write, in every round: {'PASS' if pairs == [TARGET_PAIR_CALLS] else 'FAIL'})"
    )
    per_call = result["connection_ms"]
    lines.append(
        f"each Graph call's HTTP round trip outside the emulator's time, on a kept-alive "
        f"connection as with Graph: {per_call:.1f} ms median, measured from a bare client "
        f"(all its calls went over {result['connections']} connection(s))"
    )
    for kind in ("open", "sync"):
        net = [t.overhead_ms - t.graph_calls * per_call for t in by_kind[kind]]
        lines.append(
            f"{kind}: overhead without those round trips p50 {percentile(net, 50):.1f} "
            f"p95 {percentile(net, 95):.1f} ms (informative; the verdict uses the full overhead)"
        )
    cpu = result["cpu"]
    lines.append(
        f"server CPU per request (gunicorn master+workers; {CPU_HEALTH} health, {CPU_PHASE} open, "
        f"{CPU_PHASE} sync in {CPU_PASSES} alternating blocks): health "
        f"{cpu['health']:.2f} ms, open {cpu['open']:.2f} ms ({cpu['open'] / cpu['health']:.1f}x), "
        f"sync {cpu['sync']:.2f} ms ({cpu['sync'] / cpu['health']:.1f}x)"
    )
    lines.append(
        f"sync after open (the pane's flow: the message opened just before, outside the count, so the sync "
        f"reuses that read and makes one Graph request): {cpu['sync after open']:.2f} ms "
        f"({cpu['sync after open'] / cpu['health']:.1f}x health; informative, the verdict uses the sync above, "
        "which reads as well)"
    )
    for kind, limit in TARGET_CPU_RATIO.items():
        ratio = cpu[kind] / cpu["health"]
        verdict = "PASS" if ratio <= limit else "FAIL"
        ok &= ratio <= limit
        lines.append(f"{kind}: server CPU {ratio:.1f}x health, target <= {limit:.0f}x: {verdict}")
    lines.append(
        "load average during the run: "
        + " ".join(f"{v:.1f}" for v in result["load"])
        + " (2 shared cores: wall times include waiting for a core)"
    )
    if result["unattributed"]:
        lines.append(f"({result['unattributed']} emulator requests fell outside every window)")
    return lines, ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args, _ = parser.parse_known_args(argv)
    result = run(args.rounds, args.workers)
    lines, ok = summarise(result)
    print("\n".join(lines))
    if not args.no_write:
        write_section("b1", HEADING, f"`python -m bench b1`: {machine()}.\n\n```\n" + "\n".join(lines) + "\n```")
    return 0 if ok else 1
