"""B3: bulk sync of a large folder through the emulator, as the job worker runs it.

    python -m bench b3 [--quick | --full | --rate-only] [--rate-messages N] [--no-pacer] [--no-write]

For each size (--quick, the default: 10,000 and 30,000 messages; --full: 10,000 and
100,000) a fresh emulator gets that many messages in Adele's Inbox (the admin API's
template delivery), and a separate worker process runs the bulk job exactly as an RQ
worker would (`run_job` on a queued `bulk` job, app-only Graph on /users/{oid}) and
reports its own peak RSS. Reported: messages per second, the Graph HTTP requests in
the emulator's log against the minimum (list pages + ceil(N/20) `$batch` calls), and
peak RSS at the smaller size against the larger (target: within 1.2x, streaming).

Outlook's limit (10,000 requests per 10 minutes per mailbox; each `$batch` part counts)
is measured scaled down: the same rate in a window 100x shorter (100 requests per 6 s)
on --rate-messages messages, and the measured time is compared with the limit-bound
minimum for that run (target: at least 97% of that speed; the 429s the emulator answered
are counted); the 100,000-message projection applies that efficiency to the real
window's minimum (and is never below the unthrottled time). The backend's pacer is set
to the same scaled budget (GRAPH_MAILBOX_BUDGET, GRAPH_MAILBOX_BUDGET_WINDOW_S);
--no-pacer runs without it (GRAPH_MAILBOX_BUDGET=0), as before the pacer existed;
--rate-only runs only this part and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.results import ROOT, machine, write_section
from bench.stack import ADELE, CONTOSO, backend_env, emulator

OPTIONS = ("--quick", "--full", "--rate-only", "--rate-messages", "--no-pacer", "--no-write")
HEADING = "## B3: bulk sync"
SINCE = "2026-01-01"
START = "2026-02-01T00:00:00Z"
CHUNK = 10_000  # messages per admin call
REAL_LIMIT, REAL_WINDOW_S = 10_000, 600
SCALE = 100  # the scaled window: 100 requests per 6 s, the same rate
RSS_TARGET = 1.2
CRM_CONTACT = "lynne.robbins@northwind.example"
SPEED_TARGET = 0.97  # of the limit-bound speed, in the scaled rate-limit run
TEMPLATE = {
    "subject": "Bulk {n}: order update",
    "from": {"emailAddress": {"name": "Customer {n}", "address": "customer{n}@northwind.example"}},
    "toRecipients": [
        {"emailAddress": {"name": "Adele Vance", "address": ADELE}},
        {"emailAddress": {"name": "Orders", "address": "orders@northwind.example"}},
    ],
    "ccRecipients": [{"emailAddress": {"name": "Lynne", "address": CRM_CONTACT}}],
    "body": {"contentType": "html", "content": "<p>Order {n}: <b>42 units</b> shipped.</p>" * 8},
    "internetMessageId": "<bulk-{n}@northwind.example>",
}


# -- the worker process ----------------------------------------------------------------


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker() -> None:
    """Runs one bulk job of Adele's Inbox (settings from the environment); prints JSON."""
    from sqlalchemy import func, select

    from server import create_app
    from server.auth import app_graph_token
    from server.crm.models import Contact, Email, User
    from server.crm.tenants import get_or_create_user
    from server.db import session_scope
    from server.graph.pacer import throttled_count, waited
    from server.jobs.status import get_job
    from server.sync.bulk import enqueue_bulk

    app = create_app()
    oid = os.environ["B3_OID"]
    with app.app_context(), session_scope(app) as session:
        user = get_or_create_user(session, CONTOSO, oid, ADELE, "Adele Vance")
        # Bulk sync files mail with a CRM contact on it: Lynne is on every message's Cc.
        lynne = Contact(tenant_id=CONTOSO, first_name="Lynne", last_name="Robbins", display_name="Lynne Robbins")
        session.add(lynne)
        lynne.add_address(CRM_CONTACT)
        session.commit()
        # A running worker holds the tenant's app token already: not part of the job's time.
        app_graph_token(CONTOSO)
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        cpu_before = cpu_s()
        started, started_at = time.monotonic(), time.time()
        # The embedded queue runs it (one thread), retries included, as an RQ worker would.
        job_id = enqueue_bulk(app, session.get(User, user.id), "inbox", SINCE)
    while True:
        time.sleep(0.05)  # the end of the job, measured to within 50 ms
        with session_scope(app) as session:
            row = get_job(session, job_id)
            if row.state in ("done", "failed"):
                runs = row.attempts
                break
    elapsed, ended_at = time.monotonic() - started, time.time()
    with session_scope(app) as session:
        row = get_job(session, job_id)
        emails = session.scalar(select(func.count()).select_from(Email))
        print(
            json.dumps(
                {
                    "state": row.state,
                    "done": row.done,
                    "failed": row.failed,
                    "error": row.error,
                    "runs": runs,
                    "elapsed_s": elapsed,
                    "started_at": started_at,
                    "ended_at": ended_at,
                    "emails": emails,
                    "client_429": throttled_count(),
                    "paced_waits": waited()[0],
                    "paced_s": waited()[1],
                    "baseline_rss_kib": baseline,
                    "cpu_s": cpu_s() - cpu_before,
                    "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                }
            )
        )


# -- the benchmark -----------------------------------------------------------------------


def deliver(emu, count: int) -> None:
    for first in range(0, count, CHUNK):
        n = min(CHUNK, count - first)
        template = json.loads(json.dumps(TEMPLATE).replace("{n}", f"{first}-{{n}}"))
        start = (datetime.fromisoformat(START.replace("Z", "+00:00")) + timedelta(seconds=first)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        emu.session.post(
            f"{emu.base_url}/_emulator/messages/bulk",
            timeout=600,
            json={
                "upn": ADELE,
                "folder": "inbox",
                "count": n,
                "template": template,
                "start": start,
                "step_s": 1,
                "ids": False,
            },
        ).raise_for_status()


def process_cpu_s(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def run_size(count: int, limits: dict | None = None, settings: dict | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-b3-") as tmp, emulator(Path(tmp) / "emulator") as emu:
        from server import migrate

        database_url = f"sqlite:///{tmp}/crm.sqlite3"
        migrate.upgrade(database_url)
        started = time.monotonic()
        deliver(emu, count)
        delivered_s = time.monotonic() - started
        if limits:
            emu.limits(**limits)
        emu.clear_requests()
        emulator_cpu = process_cpu_s(emu.process.pid)
        env = {
            **backend_env(emu, database_url, Path(tmp)),
            "B3_OID": emu.user(ADELE)["oid"],
            "JOB_MAX_ATTEMPTS": "1000",
            "JOB_WORKERS": "1",
            "JOB_RETRY_BASE_S": "0.5",
            "INSTANCE_DIR": str(Path(tmp) / "instance"),
            **(settings or {}),
        }
        process = subprocess.run(
            [sys.executable, "-m", "bench.b3_bulk", "--worker"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=6 * 3600,
        )
        if process.returncode != 0:
            raise RuntimeError(f"worker failed:\n{process.stderr[-3000:]}")
        result = json.loads(process.stdout.strip().splitlines()[-1])
        result["emulator_cpu_s"] = process_cpu_s(emu.process.pid) - emulator_cpu
        log = emu.requests()
    outer = [r for r in log if not r.get("in_batch") and r["path"].startswith("/v1.0")]
    result.update(
        count=count,
        delivered_s=delivered_s,
        pages=sum(1 for r in outer if r["method"] == "GET" and r["path"].endswith("/mailFolders/inbox/messages")),
        batches=sum(1 for r in outer if r["method"] == "POST" and r["path"].endswith("/$batch")),
        outer=len(outer),
        token=sum(1 for r in log if not r["path"].startswith("/v1.0")),
        throttled=sum(1 for r in log if r["status"] == 429),
        mailbox_requests=sum(1 for r in log if r.get("mailbox") and r["status"] != 429),
        timeline=timeline(log, result),
        batch_ms=statistics.fmean(
            [r["duration_ms"] for r in outer if r["method"] == "POST" and r["path"].endswith("/$batch")] or [0]
        ),
        rss_growth_kib=0,
    )
    result["rss_growth_kib"] = result["peak_rss_kib"] - result["baseline_rss_kib"]
    return result


def timeline(log: list[dict], result: dict) -> dict:
    """Where the job's time went outside the budget's pace: before its first Graph request
    to the mailbox, until its first mark (the first page read and filed), and after its
    last request."""
    counted = [r for r in log if r.get("mailbox") and r["status"] != 429]
    if not counted:
        return {}
    marks = [r["ts"] for r in counted if r.get("in_batch")]
    return {
        "to_first_request_s": counted[0]["ts"] - result["started_at"],
        "to_first_mark_s": (marks[0] if marks else counted[0]["ts"]) - result["started_at"],
        "after_last_request_s": result["ended_at"] - counted[-1]["ts"],
    }


def limit_bound_s(requests: int, limit: int, window_s: float) -> float:
    """The shortest time `requests` can take under `limit` per sliding `window_s` (how
    the emulator and Outlook count): the first window's worth at once, then `limit` more
    each time a window has passed, since request k may go no earlier than one window after
    request k - limit. The last of n goes after floor((n - 1) / limit) windows."""
    return max(0, (requests - 1) // limit) * window_s


def rate_bound_s(requests: int, limit: int, window_s: float) -> float:
    """The estimate this benchmark used before: a first window's worth at once, then a
    steady `limit / window_s` per second. A sliding window allows no such steady rate
    after a burst, so it is below `limit_bound_s` (shown for comparison only)."""
    return max(0.0, (requests - limit) / limit * window_s)


def summarise(sizes: list[dict], rate: dict | None, mode: str) -> tuple[list[str], bool]:
    from server.sync.bulk import PAGE_SIZE

    lines = [
        f"mode {mode}; SQLite; one worker process running the bulk job (`run_job`), app-only Graph, "
        f"page size {PAGE_SIZE}, $batch of 20; emulator without latency",
    ]
    ok = True
    if sizes:
        size_lines, ok = summarise_sizes(sizes)
        lines += size_lines
    if rate:
        rate_lines, rate_ok = summarise_rate(rate, sizes[-1] if sizes else None)
        lines += rate_lines
        ok &= rate_ok
    return lines, ok


def summarise_sizes(sizes: list[dict]) -> tuple[list[str], bool]:
    from server.sync.bulk import PAGE_SIZE

    lines = [
        f"{'messages':>9} {'filed':>8} {'s':>7} {'msg/s':>7} {'pages':>6} {'$batch':>7} {'minimum':>8} "
        f"{'other':>6} {'429':>5} {'peak RSS MiB':>13} {'growth MiB':>11} {'CPU ms/msg':>11} {'emul. CPU s':>12}",
    ]
    ok = True
    for r in sizes:
        n = r["done"]  # the delivered messages plus the fixture's own 12 in the Inbox
        minimum = math.ceil(n / PAGE_SIZE) + math.ceil(n / 20)
        other = r["outer"] - r["pages"] - r["batches"]
        lines.append(
            f"{n:>9} {r['emails']:>8} {r['elapsed_s']:>7.1f} {n / r['elapsed_s']:>7.0f} "
            f"{r['pages']:>6} {r['batches']:>7} {minimum:>8} {other:>6} {r['throttled']:>5} "
            f"{r['peak_rss_kib'] / 1024:>13.1f} {r['rss_growth_kib'] / 1024:>11.1f} "
            f"{r['cpu_s'] * 1000 / n:>11.2f} {r['emulator_cpu_s']:>12.0f}"
        )
        # Every delivered message has a CRM contact and must be filed; of the fixture's own
        # Inbox mail only that with a CRM contact is (bulk sync files nothing else).
        ok &= r["state"] == "done" and n >= r["emails"] >= r["count"] and r["failed"] == 0
    small, large = sizes[0], sizes[-1]
    ratio = large["peak_rss_kib"] / small["peak_rss_kib"]
    verdict = "PASS" if ratio <= RSS_TARGET else "FAIL"
    ok &= ratio <= RSS_TARGET
    lines.append(
        f"peak RSS {large['count']} / {small['count']}: {ratio:.2f}x (target <= {RSS_TARGET}x: {verdict}); "
        f"growth during the job {small['rss_growth_kib'] / 1024:.1f} vs {large['rss_growth_kib'] / 1024:.1f} MiB"
    )
    lines.append(
        "CPU ms/msg: the worker's own CPU per message (user + system); emul. CPU s: the emulator's "
        "during the job (it filters and sorts the whole folder for every page, so it grows as N^2 "
        "and bounds msg/s here at large N)"
    )
    lines.append(
        "'other' = Graph calls besides pages and $batch (master categories); requests are the "
        "emulator's log of HTTP calls, $batch parts not counted"
    )
    return lines, ok


def summarise_rate(rate: dict, large: dict | None) -> tuple[list[str], bool]:
    limit, window = rate["limit"], rate["window_s"]
    needed = rate["mailbox_requests"]
    bound = limit_bound_s(needed, limit, window)
    rate_bound = rate_bound_s(needed, limit, window)
    efficiency = bound / rate["elapsed_s"] if rate["elapsed_s"] else 0
    per_message = needed / rate["done"]
    verdict = "PASS" if efficiency >= SPEED_TARGET else "FAIL"
    lines = [
        f"rate limit, scaled: {limit} requests per {window:g} s per mailbox (Outlook's {REAL_LIMIT} per "
        f"{REAL_WINDOW_S} s, the same rate, a window {SCALE}x shorter; "
        + (
            "the pacer's GRAPH_MAILBOX_BUDGET and GRAPH_MAILBOX_BUDGET_WINDOW_S set to the same"
            if rate.get("paced", True)
            else "pacer off: GRAPH_MAILBOX_BUDGET=0"
        )
        + f"), {rate['done']} messages, {rate['emails']} filed (every delivered one has a CRM contact):",
        f"  {needed} mailbox requests counted ({per_message:.2f} per message: every $batch part counts), "
        f"{rate['throttled']} answered 429 (the worker saw {rate.get('client_429', 'n/a')}), "
        f"job {rate['state']} in {rate['elapsed_s']:.1f} s (runs {rate['runs']}); limit-bound minimum "
        f"{bound:.1f} s: {efficiency * 100:.1f}% of the limit-bound speed (target >= {SPEED_TARGET * 100:.0f}%: "
        f"{verdict}); against the steady-rate estimate used before ({rate_bound:.1f} s): "
        f"{rate_bound / rate['elapsed_s'] * 100:.1f}%",
        "  the job's time besides the pace: "
        + (
            f"{t['to_first_request_s']:.1f} s to its first Graph request, {t['to_first_mark_s']:.1f} s to its "
            f"first mark (the first page read and filed), {t['after_last_request_s']:.1f} s after its last request"
            if (t := rate.get("timeline"))
            else "n/a"
        ),
        f"  the pacer made requests wait {rate.get('paced_waits', 0)} times, {rate.get('paced_s', 0):.1f} s in all; "
        f"a $batch of 20 took {rate['batch_ms']:.0f} ms on average at the emulator (the pacer counts a request "
        f"until one window after its answer)",
    ]
    if large:
        full = 100_000
        full_requests = math.ceil(full * per_message)
        real_bound = limit_bound_s(full_requests, REAL_LIMIT, REAL_WINDOW_S)
        throughput_s = full / (large["done"] / large["elapsed_s"])
        projected = max(real_bound / efficiency if efficiency else real_bound, throughput_s)
        lines += [
            f"projection for {full} messages at the real limit: {full_requests} mailbox requests; limit-bound "
            f"minimum {real_bound:.0f} s ({real_bound / 3600:.2f} h); unthrottled time here {throughput_s:.0f} s; "
            f"projected {projected:.0f} s ({projected / 3600:.2f} h), i.e. "
            f"{real_bound / projected * 100:.0f}% of the limit-bound speed",
            "  (at the real window the pacer's wait, or a Retry-After, is minutes, beyond GRAPH_MAX_WAIT_S: the job "
            "ends its run and the queue runs it again when the budget allows, resuming from its cursor; runs that "
            "got further do not count towards JOB_MAX_ATTEMPTS)",
        ]
    ok = (
        rate["state"] == "done"
        and rate["done"] >= rate["emails"] >= rate["count"]
        and rate["failed"] == 0
        and efficiency >= SPEED_TARGET
    )
    return lines, ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="10k and 30k messages (the default)")
    parser.add_argument("--full", action="store_true", help="10k and 100k messages")
    parser.add_argument(
        "--rate-only", action="store_true", help="only the scaled rate-limit run (prints; writes nothing)"
    )
    parser.add_argument("--rate-messages", type=int, default=1000)
    parser.add_argument(
        "--no-pacer", action="store_true", help="the rate-limit run without the pacer (GRAPH_MAILBOX_BUDGET=0)"
    )
    parser.add_argument("--no-write", action="store_true")
    args, _ = parser.parse_known_args(argv)
    if args.worker:
        worker()
        return 0
    mode = "--rate-only" if args.rate_only else "--full" if args.full else "--quick"
    mode += " --no-pacer" if args.no_pacer else ""
    counts = () if args.rate_only else (10_000, 100_000) if args.full else (10_000, 30_000)
    sizes = []
    for count in counts:
        print(f"bulk sync of {count} messages ...", flush=True)
        # The sizes measure throughput and memory with no limit at the emulator, so the
        # pacer is off too: at its default (Outlook's 10,000 per 10 minutes) a 10,000-message
        # job would wait out the real window. The rate run below measures the pacing.
        sizes.append(run_size(count, None, {"GRAPH_MAILBOX_BUDGET": "0"}))
    rate = None
    if args.rate_messages or args.rate_only:
        limit, window = REAL_LIMIT // SCALE, REAL_WINDOW_S / SCALE
        print(f"bulk sync of {args.rate_messages} messages under {limit} requests per {window:g} s ...", flush=True)
        rate = run_size(
            args.rate_messages or 1000,
            {"mailbox_requests_per_window": limit, "window_s": window},
            # The pacer spends the same scaled budget the emulator enforces.
            {
                "GRAPH_MAILBOX_BUDGET": "0" if args.no_pacer else str(limit),
                "GRAPH_MAILBOX_BUDGET_WINDOW_S": str(window),
            },
        )
        rate.update(limit=limit, window_s=window, paced=not args.no_pacer)
    lines, ok = summarise(sizes, rate, mode)
    print("\n".join(lines))
    print("PASS" if ok else "FAIL")
    if not args.no_write and not args.rate_only:
        write_section("b3", HEADING, f"`python -m bench b3 {mode}`: {machine()}.\n\n```\n" + "\n".join(lines) + "\n```")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
