"""B4: load. 50 simulated pane users (locust, headless) on gunicorn + RQ workers,
PostgreSQL and Redis, against the emulator; then again with 5 % of Graph requests
answered 429.

    python -m bench b4 [--quick] [--users N] [--seconds S] [--workers W] [--no-write]

The stack: a throwaway PostgreSQL cluster (scripts/pg-test-cluster.sh), a real
redis-server on a free port in a temp dir, the emulator, `gunicorn -w W` (4; the rest
of its settings from gunicorn.conf.py, as in production) and two
`rq worker` processes, configured as in production (REDIS_URL set; RATE_LIMIT off:
50 simulated users share the emulator's three mailboxes). Each phase delivers fresh
messages: distinct ones per mailbox, and shared ones (the same internetMessageId in
Adele's and Megan's mailboxes, one tenant). Users open and sync them for S seconds
(60; --quick 20), retrying 429/503/504 after retry_after like the pane.

Pass criteria per phase: zero 5xx; zero duplicate CRM emails (one Email per
internetMessageId per tenant, queried in the database); zero lost syncs (every sync
answered 200 is marked synced in Outlook and has its Email in the database).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import runpy
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from sqlalchemy import func, select

from bench.results import ROOT, machine, write_section
from bench.stack import backend_env, emulator, free_port, gunicorn
from server import migrate
from server.db import make_engine
from server.graph import properties as props

OPTIONS = ("--quick", "--users", "--seconds", "--workers", "--no-write")
HEADING = "## B4: load"
CONTOSO = "8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11"
FABRIKAM = "c4e1b7d2-9a6f-4b38-8e15-5d7a2f3c6b90"
MAILBOXES = ("adele.vance@contoso.com", "megan.bowen@contoso.com", "pat.kowalski@fabrikam.com")
SHARED_BETWEEN = MAILBOXES[:2]
SENDER = "orders@northwind.example"


@contextmanager
def postgres() -> Iterator[str]:
    out = subprocess.run(
        [str(ROOT / "scripts" / "pg-test-cluster.sh")], check=True, capture_output=True, text=True
    ).stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    try:
        yield values["DATABASE_URL"]
    finally:
        subprocess.run(
            [str(ROOT / "scripts" / "pg-test-cluster.sh"), "stop", values["PGDATA_DIR"]], capture_output=True
        )


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (make test installs it)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    from redis import Redis

    client = Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            if client.ping():
                break
        except Exception:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def rq_workers(env: dict, count: int, tmp: Path) -> Iterator[list[subprocess.Popen]]:
    rq = str(Path(sys.executable).with_name("rq"))
    processes = []
    for n in range(count):
        log = open(tmp / f"rq-worker-{n}.log", "w")
        processes.append(
            subprocess.Popen(
                [
                    rq,
                    "worker",
                    "--with-scheduler",
                    "--worker-class",
                    "rq.worker.SimpleWorker",
                    "--url",
                    env["REDIS_URL"],
                    "crm",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        log.close()
    try:
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def seed_crm(database_url: str) -> None:
    from sqlalchemy.orm import sessionmaker

    from server.crm.models import Contact
    from server.crm.tenants import get_or_create_tenant

    engine = make_engine(database_url)
    with sessionmaker(bind=engine)() as session:
        for tid in (CONTOSO, FABRIKAM):
            get_or_create_tenant(session, tid)
            contact = Contact(tenant_id=tid, first_name="Orders", last_name="Desk", display_name="Orders Desk")
            session.add(contact)
            contact.add_address(SENDER)
        session.commit()
    engine.dispose()


def template(upn: str, key: str) -> dict:
    return {
        "subject": f"B4 {key} {{n}}",
        "from": {"emailAddress": {"name": "Orders", "address": SENDER}},
        "toRecipients": [
            {"emailAddress": {"name": "", "address": upn}},
            {"emailAddress": {"name": "", "address": "buyer{n}@northwind.example"}},
        ],
        "body": {"contentType": "html", "content": "<p>Order {n}: <b>42 units</b></p>" * 10},
        "internetMessageId": f"<b4-{key}-{{n}}@northwind.example>",
    }


def deliver(emu, upn: str, key: str, count: int) -> list[str]:
    response = emu.session.post(
        f"{emu.base_url}/_emulator/messages/bulk",
        timeout=300,
        json={
            "upn": upn,
            "folder": "inbox",
            "count": count,
            "template": template(upn, key),
            "start": "2026-11-01T00:00:00Z",
        },
    )
    response.raise_for_status()
    return response.json()["ids"]


def make_plan(emu, phase: str, distinct: int, shared: int, users: int) -> dict:
    users_list = {u["upn"]: u for u in emu.users()}
    mailboxes = []
    for upn in MAILBOXES:
        mailboxes.append(
            {
                "upn": upn,
                "tid": users_list[upn]["tid"],
                "token": emu.pane_token(upn),
                "distinct": deliver(emu, upn, f"{phase}-{upn.split('@')[0]}", distinct),
                "shared": deliver(emu, upn, f"{phase}-shared", shared) if upn in SHARED_BETWEEN else [],
            }
        )
    return {"mailboxes": mailboxes, "users_per_mailbox": -(-users // len(MAILBOXES))}


def run_locust(base: str, plan: dict, users: int, seconds: int, tmp: Path, phase: str) -> dict:
    plan_path, synced_path, status_path = (
        tmp / f"{phase}-plan.json",
        tmp / f"{phase}-synced.jsonl",
        tmp / f"{phase}-status.json",
    )
    plan_path.write_text(json.dumps(plan))
    env = {
        **os.environ,
        "B4_PLAN": str(plan_path),
        "B4_SYNCED": str(synced_path),
        "B4_STATUS": str(status_path),
        "PYTHONPATH": str(ROOT),
    }
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "bench" / "b4_locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "--host",
            base,
            "--only-summary",
            "--stop-timeout",
            "10",
            "--csv",
            str(tmp / phase),
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        timeout=seconds + 120,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / f"{phase}-locust.log", "w"),
    )
    elapsed = time.monotonic() - started
    with open(tmp / f"{phase}_stats.csv") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    synced = [json.loads(line) for line in synced_path.read_text().splitlines()] if synced_path.exists() else []
    status = json.loads(status_path.read_text()) if status_path.exists() else {}
    return {"rows": rows, "synced": synced, "status": status, "elapsed_s": elapsed}


def outlook_synced(emu, upn: str) -> set[str]:
    """internetMessageIds of the mailbox's Inbox messages marked synced (through Graph)."""
    token = emu.graph_token(upn)
    url = emu.graph_url + "/me/mailFolders/inbox/messages"
    params = {"$select": "id,internetMessageId", "$expand": props.expand_filter(props.SYNC_STATE), "$top": "1000"}
    found = set()
    while url:
        response = emu.session.get(url, params=params, timeout=120, headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
        body = response.json()
        found |= {
            m["internetMessageId"] for m in body["value"] if props.property_value(m, props.SYNC_STATE) == "synced"
        }
        url, params = body.get("@odata.nextLink"), None
    return found


def verify(database_url: str, emu, synced: list[dict]) -> dict:
    from server.crm.models import Email

    engine = make_engine(database_url)
    with engine.connect() as conn:
        duplicates = conn.execute(
            select(Email.tenant_id, Email.internet_message_id, func.count())
            .group_by(Email.tenant_id, Email.internet_message_id)
            .having(func.count() > 1)
        ).all()
        in_db = {(t, i) for t, i in conn.execute(select(Email.tenant_id, Email.internet_message_id))}
        emails = conn.execute(select(func.count()).select_from(Email)).scalar()
    engine.dispose()
    marked = {upn: outlook_synced(emu, upn) for upn in MAILBOXES}
    lost_db = [s for s in synced if (s["tid"], s["imid"]) not in in_db]
    lost_outlook = [s for s in synced if s["imid"] not in marked[s["upn"]]]
    return {
        "duplicates": len(duplicates),
        "emails": emails,
        "lost_db": len(lost_db),
        "lost_outlook": len(lost_outlook),
        "synced": len(synced),
        "distinct_synced": len({(s["upn"], s["id"]) for s in synced}),
    }


def phase_lines(name: str, result: dict, check: dict) -> tuple[list[str], bool]:
    rows = result["rows"]
    total = rows["Aggregated"]
    five = sum(n for code, n in result["status"].items() if code.startswith("5"))
    lines = [
        f"{name}: {total['Request Count']} requests in {result['elapsed_s']:.0f} s, "
        f"{float(total['Requests/s']):.1f} requests/s; status counts {dict(sorted(result['status'].items()))}",
        f"  {'request':16} {'count':>7} {'p50':>6} {'p95':>6} {'p99':>6} ms",
    ]
    for label, row in rows.items():
        if label == "Aggregated":
            continue
        lines.append(f"  {label:16} {row['Request Count']:>7} {row['50%']:>6} {row['95%']:>6} {row['99%']:>6}")
    lines.append(f"  {'all':16} {total['Request Count']:>7} {total['50%']:>6} {total['95%']:>6} {total['99%']:>6}")
    ok = (
        five == 0
        and check["duplicates"] == 0
        and check["lost_db"] == 0
        and check["lost_outlook"] == 0
        and check["synced"] > 0
    )
    lines.append(
        f"  syncs answered 200: {check['synced']} ({check['distinct_synced']} distinct messages); "
        f"CRM emails {check['emails']}; 5xx {five}; duplicate emails {check['duplicates']}; lost syncs "
        f"{check['lost_db']} (database) + {check['lost_outlook']} (Outlook): {'PASS' if ok else 'FAIL'}"
    )
    return lines, ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--no-write", action="store_true")
    args, _ = parser.parse_known_args(argv)
    seconds = args.seconds or (20 if args.quick else 60)
    distinct = 100 * seconds  # per mailbox: more than the users can sync in the time
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    lines = [
        f"{args.users} users (locust, headless), {seconds} s per phase; gunicorn -w {args.workers} "
        f"(gunicorn.conf.py: {config['worker_class']}, {config['threads']} threads), "
        f"2 rq workers, PostgreSQL, Redis; 3 mailboxes (emulator: 4 concurrent requests per mailbox); "
        f"each user: open + sync of its own messages, 1 in 5 a message shared by two mailboxes"
    ]
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-b4-") as tmp_name, postgres() as database_url:
        tmp = Path(tmp_name)
        migrate.upgrade(database_url)
        seed_crm(database_url)
        with emulator(tmp / "emulator") as emu, redis_server(tmp) as redis_url:
            env = {
                **backend_env(emu, database_url, tmp),
                "REDIS_URL": redis_url,
                "RATE_LIMIT": "off",
                "INSTANCE_DIR": str(tmp / "instance"),
            }
            with rq_workers(env, 2, tmp), gunicorn(env, args.workers, tmp / "gunicorn.log") as base:
                for phase, fault in (("plain", None), ("graph-429", 0.05)):
                    print(f"phase {phase}: delivering ...", flush=True)
                    plan = make_plan(emu, phase, distinct, 200, args.users)
                    # Warm each mailbox (OBO token, categories) before the clock starts.
                    for mailbox in plan["mailboxes"]:
                        requests.get(
                            f"{base}/api/v1/messages/{mailbox['distinct'][-1]}",
                            timeout=60,
                            headers={"Authorization": f"Bearer {mailbox['token']}"},
                        )
                    emu.clear_requests()
                    if fault:
                        emu.fault(path=r"^/v1\.0/", kind="429", retry_after=1, probability=fault)
                    print(f"phase {phase}: {args.users} users for {seconds} s ...", flush=True)
                    result = run_locust(base, plan, args.users, seconds, tmp, phase)
                    graph_log = emu.requests()
                    emu.clear_faults()
                    check = verify(database_url, emu, result["synced"])
                    label = "no faults" if not fault else f"{fault * 100:.0f} % of Graph requests 429"
                    more, passed = phase_lines(label, result, check)
                    graph = [r for r in graph_log if r["path"].startswith("/v1.0")]
                    more.append(
                        f"  Graph requests {len(graph)}, answered 429 {sum(r['status'] == 429 for r in graph)} "
                        f"(injected or the mailbox concurrency limit)"
                    )
                    print("\n".join(more), flush=True)
                    lines += more
                    ok &= passed
    lines.append(f"load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())} (2 shared cores)")
    print("\n".join(lines))
    if not args.no_write:
        write_section(
            "b4",
            HEADING,
            f"`python -m bench b4{' --quick' if args.quick else ''}`: {machine()}.\n\n"
            "```\n" + "\n".join(lines) + "\n```",
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
