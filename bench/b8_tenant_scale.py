"""B8: automatic sync at tenant scale: a burst of new mail over many mailboxes, filed
from change notifications by 1, 2 and 4 RQ workers, then delta catch-up of what no
notification named.

    python -m bench b8 [--quick | --full] [--mailboxes N] [--messages M] [--no-write]

The stack: a throwaway PostgreSQL cluster, a real redis-server, the emulator, `gunicorn
-w 2` (gunicorn.conf.py) with REDIS_URL set, and `rq worker` processes, as production
runs them. N mailboxes (--full: 1,000; --quick, the default: 100) are seeded straight into the emulator's
fixture and our database: CRM users of one tenant with automatic sync for known
contacts, each with a stored Inbox subscription (as the server keeps it; the emulator
holds none, so only the benchmark notifies), and 50 CRM contacts who send the mail.

Each round delivers M new messages (--full: 10,000; --quick: 1,000), spread at random over the
mailboxes, and posts their "created" notifications to the real webhook in random order
from 4 client threads, as Graph does: half alone, half several to a POST (2 to 10, of
any mailboxes), and 2% delivered twice. Rounds with 1, 2 and 4 workers; then a round
with 4 workers where 10% of the notifications never arrive, followed by a delta round
for every mailbox (what the periodic task queues), which must file the rest.

Recorded per round: the time from the first POST until every message is filed and no
job is busy, messages per second (the speed-up against 1 worker), Graph requests per
filed message (outer HTTP calls, each `$batch` one; target at most 2), `$batch` parts
(what Outlook's per-mailbox budget counts), token requests, 429s, duplicates (an Email
filed twice, or a message marked more than once) and lost messages (not filed in the
CRM, or not marked synced in Outlook: read back from every mailbox at the end), and
each worker's peak RSS (VmHWM). `main()` fails when a round needs more than 2 requests
per filed message, or has a duplicate or a lost message.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import psutil
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bench.b1_pane_api import workers_cpu_s
from bench.b4_load import postgres, redis_server, rq_workers
from bench.results import machine, write_section
from bench.stack import CONTOSO, TEST_FIXTURE, backend_env, gunicorn
from server import create_app, migrate
from server.crm.models import Email, Subscription, SyncJob
from server.crm.tenants import get_or_create_user
from server.crm.types import utcnow
from server.db import make_engine
from server.graph import properties as props
from server.sync.delta import schedule_delta_round
from server.sync.subscriptions import hash_client_state
from tests.support.arrange_contacts import add_contact
from tests.support.emulator_process import start_emulator, stop_emulator
from tests.support.notifications import created

OPTIONS = ("--quick", "--full", "--mailboxes", "--messages", "--no-write")
HEADING = "## B8: automatic sync at tenant scale"
WORKER_COUNTS = (1, 2, 4)
SENDERS = 50
DROP = 0.10
TWICE = 0.02
CLIENTS = 4
REQUESTS_TARGET = 2.0
SEED = 8
# What the benchmark's own app (queueing the delta round) takes from the backend's environment.
APP_SETTINGS = {
    "DATABASE_URL",
    "GRAPH_BASE_URL",
    "AUTHORITY_HOST",
    "CA_BUNDLE",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "PUBLIC_BASE_URL",
    "API_AUDIENCE",
    "SECRET_KEY",
    "REDIS_URL",
    "INSTANCE_DIR",
}


def mailbox_oid(n: int) -> str:
    return f"00000000-0000-4b8b-8000-{n:012d}"


def write_fixture(path: Path, count: int) -> list[dict]:
    """The test fixture plus `count` empty Contoso mailboxes; returns them."""
    fixture = json.loads(TEST_FIXTURE.read_text())
    boxes = [{"upn": f"b8-{n:04d}@contoso.com", "oid": mailbox_oid(n)} for n in range(count)]
    for box in boxes:
        fixture["users"].append(
            {
                "oid": box["oid"],
                "tid": CONTOSO,
                "upn": box["upn"],
                "display_name": box["upn"].split("@")[0],
                "mail": box["upn"],
                "folders": [
                    {"id": "inbox", "display_name": "Inbox", "well_known_name": "inbox", "parent": None},
                    {"id": "sentitems", "display_name": "Sent Items", "well_known_name": "sentitems", "parent": None},
                ],
                "messages": [],
            }
        )
    path.write_text(json.dumps(fixture))
    return boxes


def seed_database(database_url: str, boxes: list[dict]) -> None:
    """CRM users with automatic sync for known contacts and a stored Inbox subscription
    each (`box["subscription"]`), and the senders as CRM contacts."""
    engine = make_engine(database_url)
    with sessionmaker(bind=engine, expire_on_commit=False)() as session:
        for n in range(SENDERS):
            add_contact(session, CONTOSO, f"Sender {n}", f"sender{n}@northwind.example", company="Northwind Traders")
        session.commit()
        for box in boxes:
            user = get_or_create_user(session, CONTOSO, box["oid"], box["upn"], box["upn"])
            user.update_settings(auto_sync="known_contacts")
            secret = secrets.token_urlsafe(32)
            box["user_id"], box["subscription"] = user.id, (f"b8-{secrets.token_hex(12)}", secret)
            session.add(
                Subscription(
                    tenant_id=CONTOSO,
                    user_id=user.id,
                    subscription_id=box["subscription"][0],
                    resource=f"users/{box['oid']}/mailFolders('inbox')/messages",
                    folder="inbox",
                    client_state_hash=hash_client_state(secret),
                    expires_at=utcnow() + timedelta(days=2),
                )
            )
        session.commit()
    engine.dispose()


def deliver(emu, boxes: list[dict], count: int, round_name: str, rng: random.Random) -> list[tuple[dict, str]]:
    """`count` new messages spread at random over the mailboxes; returns (mailbox, id)."""
    share: dict[int, list[int]] = {}
    for n in range(count):
        share.setdefault(rng.randrange(len(boxes)), []).append(n)
    delivered = []
    for index, numbers in share.items():
        box = boxes[index]
        messages = [
            {
                "subject": f"B8 {round_name} order {n}",
                "from": {"emailAddress": {"name": "Sender", "address": f"sender{n % SENDERS}@northwind.example"}},
                "toRecipients": [{"emailAddress": {"name": box["upn"], "address": box["upn"]}}],
                "body": {"contentType": "html", "content": f"<p>Order {n}: 42 units shipped.</p>"},
                "internetMessageId": f"<b8-{round_name}-{n}@northwind.example>",
            }
            for n in numbers
        ]
        answer = emu.admin("POST", "messages/bulk", json={"upn": box["upn"], "folder": "inbox", "messages": messages})
        delivered += [(box, message_id) for message_id in answer.json()["ids"]]
    return delivered


def bodies(delivered: list[tuple[dict, str]], drop: float, rng: random.Random) -> tuple[list[list[dict]], int]:
    """The notification POST bodies of a round, and how many messages were notified."""
    notes = [created(box["subscription"], CONTOSO, message_id) for box, message_id in delivered]
    rng.shuffle(notes)
    notes = notes[: len(notes) - int(len(notes) * drop)]
    notified = len(notes)
    notes += rng.sample(notes, int(len(notes) * TWICE))  # Graph delivers some twice
    rng.shuffle(notes)
    posts, at = [], 0
    while at < len(notes):
        size = 1 if rng.random() < 0.5 else rng.randint(2, 10)
        posts.append(notes[at : at + size])
        at += size
    return posts, notified


def post_all(base: str, posts: list[list[dict]]) -> None:
    local = threading.local()

    def send(body: list[dict]) -> None:
        http = getattr(local, "http", None) or requests.Session()
        local.http = http
        response = http.post(base + "/api/v1/notifications", json={"value": body}, timeout=60)
        if response.status_code != 202:
            raise RuntimeError(f"webhook answered {response.status_code}: {response.text[:300]}")

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(send, posts))


def filed_and_idle(engine, round_name: str) -> tuple[int, int, int]:
    """(Emails of the round, distinct ones, jobs still busy)."""
    with engine.connect() as conn:
        ids = select(Email.internet_message_id).where(Email.internet_message_id.like(f"<b8-{round_name}-%"))
        total = conn.scalar(select(func.count()).select_from(ids.subquery()))
        distinct = conn.scalar(
            select(func.count(func.distinct(Email.internet_message_id))).where(
                Email.internet_message_id.like(f"<b8-{round_name}-%")
            )
        )
        busy = conn.scalar(
            select(func.count()).select_from(SyncJob).where(SyncJob.state.in_(("queued", "running", "retrying")))
        )
    return total, distinct, busy


def wait_filed(engine, round_name: str, expected: int, timeout_s: float) -> tuple[float, int, int]:
    """Waits until `expected` Emails of the round exist and no job is busy (or timeout);
    returns (when, Emails, distinct Emails)."""
    deadline = time.monotonic() + timeout_s
    while True:
        total, distinct, busy = filed_and_idle(engine, round_name)
        if (distinct >= expected and not busy) or time.monotonic() > deadline:
            return time.monotonic(), total, distinct
        time.sleep(0.25)


def requests_of(emu) -> dict:
    log = emu.requests()
    graph = [r for r in log if r["path"].startswith("/v1.0")]
    outer = [r for r in graph if not r["in_batch"]]
    return {
        "outer": len(outer),
        "batch_calls": sum(1 for r in outer if r["path"].endswith("/$batch")),
        "parts": sum(1 for r in graph if r["in_batch"]),
        "marks": sum(1 for r in graph if r["in_batch"] and r["method"] == "PATCH" and r["status"] < 300),
        "tokens": len(log) - len(graph),
        "throttled": sum(1 for r in log if r["status"] == 429),
    }


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


def wait_workers(redis_url: str, count: int) -> None:
    from redis import Redis
    from rq import Worker

    connection = Redis.from_url(redis_url)
    deadline = time.monotonic() + 120
    while len(Worker.all(connection=connection)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} rq workers did not start")
        time.sleep(0.2)


def cpu_s(pids) -> float:
    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def cpu_now(ctx: dict, processes) -> dict[str, float]:
    """CPU seconds so far: the RQ workers, the web (gunicorn), the emulator."""
    return {
        "workers": cpu_s(p.pid for p in processes),
        "web": workers_cpu_s(ctx["base"]),
        "emulator": cpu_s([ctx["emu"].process.pid]),
    }


def run_round(ctx: dict, name: str, workers: int, drop: float) -> dict:
    emu, engine, boxes, rng = ctx["emu"], ctx["engine"], ctx["boxes"], ctx["rng"]
    delivered = deliver(emu, boxes, ctx["messages"], name, rng)
    posts, notified = bodies(delivered, drop, rng)
    result = {"name": name, "workers": workers, "delivered": len(delivered), "notified": notified}
    result["posts"] = len(posts)
    with rq_workers(ctx["env"], workers, ctx["tmp"]) as processes:
        wait_workers(ctx["env"]["REDIS_URL"], workers)
        emu.clear_requests()
        cpu_before = cpu_now(ctx, processes)
        started = time.monotonic()
        post_all(ctx["base"], posts)
        result["posted_s"] = time.monotonic() - started
        done, total, distinct = wait_filed(engine, name, notified, ctx["timeout_s"])
        cpu_after = cpu_now(ctx, processes)
        result["cpu_s"] = {k: cpu_after[k] - cpu_before[k] for k in cpu_after}
        result.update(elapsed_s=done - started, emails=total, filed=distinct, **requests_of(emu))
        if drop:
            emu.clear_requests()
            started = time.monotonic()
            queued = schedule_delta_round(ctx["app"])
            done, total, distinct = wait_filed(engine, name, len(delivered), ctx["timeout_s"])
            result["catch_up"] = {
                "queued": queued,
                "elapsed_s": done - started,
                "emails": total,
                "filed": distinct - result["filed"],
                **requests_of(emu),
            }
            result["emails"], result["filed_total"] = total, distinct
        result["rss_mib"] = [peak_rss_mib(p.pid) for p in processes]
    return result


def outlook_marked(emu, boxes: list[dict]) -> Counter:
    """Messages marked synced in Outlook, per round name (read back from every mailbox)."""
    token = emu.app_token(CONTOSO)
    marked: Counter = Counter()
    for box in boxes:
        url = f"{emu.graph_url}/users/{box['oid']}/mailFolders/inbox/messages"
        params = {"$select": "internetMessageId", "$expand": props.expand_filter(props.SYNC_STATE), "$top": "1000"}
        answer = emu.session.get(url, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        answer.raise_for_status()
        for message in answer.json()["value"]:
            if props.property_value(message, props.SYNC_STATE) == "synced":
                marked[message["internetMessageId"].split("-")[1]] += 1
    return marked


def run(mailboxes: int, messages: int) -> dict:
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory(prefix="bench-b8-") as tmp_name, postgres() as database_url:
        tmp = Path(tmp_name)
        boxes = write_fixture(tmp / "fixture.json", mailboxes)
        emu = start_emulator(tmp / "emulator", tmp / "fixture.json")
        try:
            migrate.upgrade(database_url)
            seed_database(database_url, boxes)
            with redis_server(tmp) as redis_url:
                env = {
                    **backend_env(emu, database_url, tmp),
                    "REDIS_URL": redis_url,
                    "RATE_LIMIT": "off",
                    "INSTANCE_DIR": str(tmp / "instance"),
                }
                config = {k: env[k] for k in env if k.isupper() and k in APP_SETTINGS}
                app = create_app({**config, "TESTING": True})
                engine = make_engine(database_url)
                ctx = {"emu": emu, "engine": engine, "boxes": boxes, "rng": rng, "messages": messages}
                ctx.update(env=env, tmp=tmp, app=app, timeout_s=max(600, messages / 5))
                rounds = []
                with gunicorn(env, 2, tmp / "gunicorn.log") as base:
                    ctx["base"] = base
                    for workers in WORKER_COUNTS:
                        print(f"round: {messages} messages, {workers} worker(s) ...", flush=True)
                        rounds.append(run_round(ctx, f"w{workers}", workers, 0.0))
                    print(f"round: {messages} messages, {int(DROP * 100)}% of notifications lost ...", flush=True)
                    rounds.append(run_round(ctx, "drop", WORKER_COUNTS[-1], DROP))
                marked = outlook_marked(emu, boxes)
                engine.dispose()
        finally:
            stop_emulator(emu.process)
    for r in rounds:
        r["marked"] = marked[r["name"]]
    return {"rounds": rounds, "mailboxes": mailboxes, "messages": messages, "load": os.getloadavg()}


def summarise(result: dict) -> tuple[list[str], bool]:
    rounds = result["rounds"]
    base_rate = rounds[0]["delivered"] / rounds[0]["elapsed_s"]
    lines = [
        f"{result['mailboxes']} mailboxes (automatic sync: known contacts), {result['messages']} new messages per "
        f"round spread at random over them; notifications posted from {CLIENTS} threads, half alone and half 2-10 "
        f"to a POST, {TWICE:.0%} twice; gunicorn -w 2, RQ workers, PostgreSQL, Redis",
        f"{'round':>12} {'workers':>7} {'notified':>8} {'POSTs':>6} {'filed':>6} {'s':>7} {'msg/s':>6} "
        f"{'speed-up':>8} {'req/msg':>7} {'$batch':>6} {'parts':>6} {'tokens':>6} {'429':>4} {'dupl.':>5} "
        f"{'lost':>5} {'peak RSS MiB per worker':>24}",
    ]
    ok = True
    for r in rounds:
        filed = r["filed"]
        per_message = r["outer"] / filed if filed else float("inf")
        duplicates = (r["emails"] - r.get("filed_total", filed)) + max(0, r["marks"] - filed)
        expected = r["notified"]
        lost = expected - filed
        rate = filed / r["elapsed_s"]
        lines.append(
            f"{'notified' if r['name'] != 'drop' else 'drop 10%':>12} {r['workers']:>7} {r['notified']:>8} "
            f"{r['posts']:>6} {filed:>6} {r['elapsed_s']:>7.1f} {rate:>6.0f} {rate / base_rate:>7.2f}x "
            f"{per_message:>7.2f} {r['batch_calls']:>6} {r['parts']:>6} {r['tokens']:>6} {r['throttled']:>4} "
            f"{duplicates:>5} {lost:>5} {' '.join(f'{m:.0f}' for m in r['rss_mib']):>24}"
        )
        ok &= per_message <= REQUESTS_TARGET and duplicates == 0 and lost == 0
        cpu = r["cpu_s"]
        lines.append(
            f"  notifications posted in {r['posted_s']:.1f} s; CPU ms per filed message: workers "
            f"{cpu['workers'] * 1000 / filed:.1f}, web {cpu['web'] * 1000 / filed:.1f}, emulator "
            f"{cpu['emulator'] * 1000 / filed:.1f}"
        )
        if "catch_up" in r:
            c = r["catch_up"]
            caught = c["filed"]
            per_caught = c["outer"] / caught if caught else float("inf")
            missing = r["delivered"] - r["filed_total"]
            duplicates = max(0, c["marks"] - caught)
            lines.append(
                f"{'+ delta':>12} {r['workers']:>7} {r['delivered'] - r['notified']:>8} {'-':>6} {caught:>6} "
                f"{c['elapsed_s']:>7.1f} {caught / c['elapsed_s']:>6.0f} {'':>8} {per_caught:>7.2f} "
                f"{c['batch_calls']:>6} {c['parts']:>6} {c['tokens']:>6} {c['throttled']:>4} {duplicates:>5} "
                f"{missing:>5}"
            )
            whole = (r["outer"] + c["outer"]) / r["filed_total"]
            lines.append(
                f"  the delta round: {c['queued']} mailboxes caught up ({c['outer']} requests: a delta page per "
                f"folder per mailbox, $batch reads and marks where a message was missing); the drop round as a "
                f"whole: {whole:.2f} requests per filed message"
            )
            ok &= duplicates == 0 and missing == 0 and whole <= REQUESTS_TARGET
        marked_lost = r["delivered"] - r["marked"]
        if marked_lost:
            lines.append(f"  {marked_lost} messages of this round not marked synced in Outlook (read back)")
        ok &= marked_lost == 0
    lines += [
        "req/msg: the backend's Graph HTTP requests (a $batch is one) per filed message, target <= "
        f"{REQUESTS_TARGET:g}; parts: requests inside $batch calls (Outlook's per-mailbox budget counts each); "
        "tokens: app-only token requests; dupl.: Emails filed twice plus marks beyond one per message; "
        "lost: notified (or, after the delta round, delivered) messages not filed; every message is also read "
        "back from its mailbox at the end and must be marked synced",
        "speed-up: msg/s against the 1-worker round; the time runs from the first POST until every message is "
        "filed and no job is busy",
        "load average at the end: " + " ".join(f"{v:.1f}" for v in result["load"]) + " (2 shared cores: the "
        "emulator, gunicorn, the workers, PostgreSQL and the client all run on them)",
    ]
    return lines, ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 mailboxes x 1,000 messages (the default)")
    parser.add_argument(
        "--full",
        action="store_true",
        help="1,000 mailboxes x 10,000 messages (40-50 minutes on the shared 2-core machine)",
    )
    parser.add_argument("--mailboxes", type=int)
    parser.add_argument("--messages", type=int)
    parser.add_argument("--no-write", action="store_true")
    args, _ = parser.parse_known_args(argv)
    mailboxes = args.mailboxes or (1000 if args.full else 100)
    messages = args.messages or (10_000 if args.full else 1000)
    result = run(mailboxes, messages)
    lines, ok = summarise(result)
    print("\n".join(lines))
    if not args.no_write:
        command = "python -m bench b8" + (" --full" if args.full else " --quick")
        if args.mailboxes or args.messages:
            command += f" --mailboxes {mailboxes} --messages {messages}"
        name, size = ("b8-full", "--full") if args.full else ("b8", "--quick")
        if args.mailboxes or args.messages:
            name, size = "b8-custom", f"{mailboxes} x {messages}"
        heading = f"{HEADING} ({size}, {mailboxes} mailboxes x {messages} messages)"
        write_section(name, heading, f"`{command}`: {machine()}.\n\n```\n" + "\n".join(lines) + "\n```")
    return 0 if ok else 1
