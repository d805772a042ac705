"""B7: filing one email with 10 attachments totalling 150 MB, against the same email without.

    python -m bench b7 [--no-write]

For each case a fresh emulator gets one message from a CRM contact in Adele's Inbox
(no attachments; 10 generated files of 15 MiB each), and a separate process files it
exactly as "Sync email" does (`sync_message` on an app-only mailbox: read, attachments'
content streamed into the database, mark) on a migrated SQLite database, reporting its
own wall time and peak RSS. Before that, a bare client streams the same 10 `$value`
bodies from the emulator and throws them away: the raw download time, what the network
part of filing cannot beat.

Reported: the Graph requests of the filing (the emulator's log; the target is the
documented count, 1 read + 10 streams + 1 mark), wall time against the raw download
time, and peak RSS with attachments against without (target: under 1.2x, memory flat).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bench.results import ROOT, machine, write_section
from bench.stack import ADELE, CONTOSO, backend_env, emulator
from server import create_app, migrate
from server.crm.models import Contact
from server.crm.models.attachments import EmailAttachment
from server.crm.tenants import get_or_create_user
from server.db import session_scope
from server.sync.file_message import sync_message
from server.sync.mailbox_factory import app_only_mailbox

OPTIONS = ("--no-write",)
HEADING = "## B7: filing an email with 10 attachments (150 MB)"
MiB = 1024 * 1024
COUNT, EACH = 10, 15 * MiB
RSS_TARGET = 1.2
SENDER = "lynne.robbins@northwind.example"


def message(with_attachments: bool) -> dict:
    attachments = [
        {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "name": f"site-survey-{n:02d}.mp4",
            "contentType": "video/mp4",
            "size": EACH,
            "seed": f"b7-{n}",
        }
        for n in range(COUNT if with_attachments else 0)
    ]
    return {
        "subject": "B7: site survey videos" if with_attachments else "B7: site survey notes",
        "from": {"emailAddress": {"name": "Lynne Robbins", "address": SENDER}},
        "toRecipients": [{"emailAddress": {"name": "Adele Vance", "address": ADELE}}],
        "body": {"contentType": "html", "content": "<p>The survey of the site, as promised.</p>"},
        "attachments": attachments,
    }


# -- the filing process -------------------------------------------------------------------


def worker() -> None:
    """Files one message (settings from the environment) and prints JSON."""
    app = create_app()
    with app.app_context(), session_scope(app) as session:
        user = get_or_create_user(session, CONTOSO, os.environ["B7_OID"], ADELE, "Adele Vance")
        contact = Contact(tenant_id=CONTOSO, first_name="Lynne", last_name="Robbins", display_name="Lynne Robbins")
        session.add(contact)
        contact.add_address(SENDER)
        session.commit()
        mailbox = app_only_mailbox(app, session, user.id)
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.monotonic()
        view = sync_message(mailbox, os.environ["B7_MESSAGE"])
        elapsed = time.monotonic() - started
        states = [row.state for row in session.scalars(select(EmailAttachment).order_by(EmailAttachment.id))]
    print(
        json.dumps(
            {
                "state": view["state"],
                "attachments": states,
                "elapsed_s": elapsed,
                "baseline_rss_kib": baseline,
                "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


# -- the benchmark ------------------------------------------------------------------------


def raw_download_s(emu, message_id: str) -> float:
    """A bare client streams every attachment's $value and discards it."""
    token = emu.graph_token(ADELE)
    listed = emu.graph("GET", f"/me/messages/{message_id}/attachments", token, params={"$select": "id,size"}).json()
    started = time.monotonic()
    for att in listed["value"]:
        with emu.graph("GET", f"/me/messages/{message_id}/attachments/{att['id']}/$value", token, stream=True) as r:
            r.raise_for_status()
            for _ in r.iter_content(256 * 1024):
                pass
    return time.monotonic() - started


def run_case(with_attachments: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-b7-") as tmp, emulator(Path(tmp) / "emulator") as emu:
        database_url = f"sqlite:///{tmp}/crm.sqlite3"
        migrate.upgrade(database_url)
        delivered = emu.deliver(ADELE, message(with_attachments))
        raw = raw_download_s(emu, delivered["id"]) if with_attachments else 0.0
        emu.clear_requests()
        env = {
            **backend_env(emu, database_url, Path(tmp)),
            "B7_OID": emu.user(ADELE)["oid"],
            "B7_MESSAGE": delivered["id"],
            "ATTACHMENTS_MAX_BYTES_PER_EMAIL": str(160 * MiB),
            "INSTANCE_DIR": str(Path(tmp) / "instance"),
        }
        process = subprocess.run(
            [sys.executable, "-m", "bench.b7_attachments", "--worker"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if process.returncode != 0:
            raise RuntimeError(f"worker failed:\n{process.stderr[-3000:]}")
        result = json.loads(process.stdout.strip().splitlines()[-1])
        log = emu.requests()
    graph = [r for r in log if r["path"].startswith("/v1.0") and not r.get("in_batch")]
    mailbox = [r for r in graph if "/messages/" in r["path"] or r["path"].endswith("/$batch")]
    result.update(
        raw_s=raw,
        requests=len(mailbox),
        values=sum(1 for r in mailbox if r["path"].endswith("/$value")),
        other=len(graph) - len(mailbox),
    )
    return result


def summarise(none: dict, ten: dict) -> tuple[list[str], bool]:
    expected = 1 + COUNT + 1
    ratio = ten["peak_rss_kib"] / none["peak_rss_kib"]
    lines = [
        f"one email from a CRM contact, filed by `sync_message` (app-only Graph, SQLite); {COUNT} attachments of "
        f"{EACH // MiB} MiB ({COUNT * EACH // MiB} MiB), emulator without latency",
        f"{'case':<22} {'state':<7} {'requests':>8} {'$value':>7} {'wall s':>7} {'raw download s':>15} "
        f"{'peak RSS MiB':>13} {'growth MiB':>11}",
    ]
    for name, r in (("without attachments", none), (f"{COUNT} x {EACH // MiB} MiB", ten)):
        lines.append(
            f"{name:<22} {r['state']:<7} {r['requests']:>8} {r['values']:>7} {r['elapsed_s']:>7.2f} "
            f"{r['raw_s']:>15.2f} {r['peak_rss_kib'] / 1024:>13.1f} "
            f"{(r['peak_rss_kib'] - r['baseline_rss_kib']) / 1024:>11.1f}"
        )
    stored = ten["attachments"].count("stored")
    requests_ok = ten["requests"] == expected and ten["values"] == COUNT
    rss_ok = ratio < RSS_TARGET
    lines += [
        f"Graph requests with attachments: {ten['requests']} (1 read + {COUNT} $value streams + 1 mark = {expected}: "
        f"{'PASS' if requests_ok else 'FAIL'}); without: {none['requests']}; token and category calls apart: "
        f"{ten['other']} / {none['other']}",
        f"wall time {ten['elapsed_s']:.2f} s against the raw download's {ten['raw_s']:.2f} s "
        f"({ten['elapsed_s'] / ten['raw_s']:.1f}x: hashing and writing 150 MB into the database in 512 KiB chunks)",
        f"peak RSS {ratio:.2f}x that of the email without attachments (target < {RSS_TARGET}x: "
        f"{'PASS' if rss_ok else 'FAIL'}); {stored} of {COUNT} attachments stored",
        "load average at the end: {:.1f} {:.1f} {:.1f} (2 shared cores: wall times are the machine's, the "
        "request count and the RSS ratio are not)".format(*os.getloadavg()),
    ]
    ok = requests_ok and rss_ok and stored == COUNT and ten["state"] == none["state"] == "synced"
    return lines, ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true")
    args, _ = parser.parse_known_args(argv)
    if args.worker:
        worker()
        return 0
    print("filing an email without attachments ...", flush=True)
    none = run_case(False)
    print(f"filing an email with {COUNT} attachments of {EACH // MiB} MiB ...", flush=True)
    ten = run_case(True)
    lines, ok = summarise(none, ten)
    print("\n".join(lines))
    if not args.no_write:
        write_section("b7", HEADING, f"`python -m bench b7`: {machine()}.\n\n```\n" + "\n".join(lines) + "\n```")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
