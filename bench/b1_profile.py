"""Where B1's server CPU goes: the pane's open and sync profiled in one process.

    python -m bench.b1_profile [--requests N] [--profiler pyinstrument|components|cprofile|none]
                               [--kind open|sync|health] [--top N] [--sql]

The same stack as B1 (the emulator over HTTPS, a migrated SQLite database with B1's
contacts, the backend configured as under gunicorn) but the app runs in this process
behind werkzeug's test client, so a profiler sees every request on one thread. After a
warm-up like B1's (tokens, JWKS, categories), it profiles N requests of each kind:
health (the baseline), open of messages already seen, sync of fresh messages. It
prints pyinstrument's call tree (wall time of this process, which waits on the
emulator: read the server's own frames), its samples added up per component
(`components`: the Graph HTTP client, SQLAlchemy, Flask, ...; waits left out), or
cProfile's top functions by own time (which overweights pure-Python code). With
`none` it only counts this process's CPU per request, unprofiled.
Figures here are not B1's: the profiler slows everything down; compare shares.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import tempfile
import time
from pathlib import Path

from pyinstrument import Profiler
from sqlalchemy import event

from bench.b1_pane_api import WARMUP, message, seed_crm, shown_people
from bench.stack import ADELE, backend_env, emulator
from server import create_app, migrate
from server.db import engine_for


def requests_of(kind: str, ids: list[str], people: dict[str, str]) -> list[tuple[str, str, dict | None]]:
    if kind == "health":
        return [("GET", "/api/v1/health", None)] * len(ids)
    if kind == "open":
        return [("GET", f"/api/v1/messages/{m}", {"people": people[m]}) for m in ids]
    return [("POST", f"/api/v1/messages/{m}/sync", None) for m in ids]


# Leaf calls that wait (on the emulator, a lock, the clock) rather than compute.
WAITS = re.compile(
    r"^(\w+\.)?(read|recv|recv_into|readinto|write|send|sendall|select|poll|acquire|wait|sleep|connect|do_handshake)$"
)

# Where a sampled frame's time goes: the first pattern its file path matches.
COMPONENTS = (
    (
        "Graph HTTP client (server/graph/wire.py and http11.py, http.client, ssl, json of bodies)",
        r"server/graph/(wire|http11)\.py|requests/|urllib3/|http/client|ssl\.py|/json/|email/",
    ),
    ("SQLAlchemy and the database driver", r"sqlalchemy/|sqlite3|psycopg"),
    ("marshmallow, webargs, flask-smorest", r"marshmallow/|webargs/|flask_smorest/|apispec/"),
    ("flask-limiter and limits", r"flask_limiter/|/limits/"),
    ("Flask, werkzeug, CORS (and the test client)", r"flask/|werkzeug/|flask_cors/|blinker/"),
    ("nh3 sanitising", r"nh3"),
    ("our Graph code (server/graph)", r"server/graph/"),
    ("our CRM code (server/crm)", r"server/crm/"),
    ("our sync code (server/sync)", r"server/sync/"),
    ("our other code (server/)", r"server/"),
)


def component_report(root, requests: int, top: int) -> str:
    """pyinstrument's samples added up per component, blocking calls (socket reads, lock
    waits) left out, and the `top` functions by own time. cProfile charges every Python
    call, so it inflates pure-Python libraries (marshmallow, the ORM) several times over
    against C code (ssl, sqlite3, json); sampling charges the time where it is spent."""
    totals: dict[str, float] = {}
    waited = 0.0
    tops: dict = {}
    stack = [(root, "other (stdlib and the rest)")]
    while stack:
        frame, inherited = stack.pop()
        path = frame.file_path or ""
        if path == "<built-in>" and WAITS.match(frame.function or ""):
            waited += frame.time  # a blocking call and all it holds
            continue
        component = next((name for name, pattern in COMPONENTS if re.search(pattern, path)), None)
        # A stdlib frame (typing, re, abc) counts for the component that called it.
        here = component or inherited
        self_time = frame.time - sum(child.time for child in frame.children)
        totals[here] = totals.get(here, 0.0) + self_time
        if self_time:
            named = frame.parent if frame.function == "[self]" and frame.parent else frame
            key = (here.split(" (")[0], named.function, named.file_path_short, named.line_no)
            tops[key] = tops.get(key, 0.0) + self_time
        stack.extend((child, here) for child in frame.children)
    busy = sum(totals.values()) or 1e-9
    lines = [f"busy {busy * 1000 / requests:.2f} ms per request (waits left out: {waited * 1000 / requests:.2f} ms)"]
    for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {seconds * 1000 / requests:6.2f} ms  {seconds / busy:5.1%}  {name}")
    lines.append(f"top {top} functions by own time (ms per request, component, function, file, line):")
    for key, seconds in sorted(tops.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {seconds * 1000 / requests:6.3f}  " + "  ".join(map(str, key)))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument(
        "--profiler", choices=("pyinstrument", "components", "cprofile", "none"), default="pyinstrument"
    )
    parser.add_argument("--kind", choices=("health", "open", "sync"), action="append")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sql", action="store_true", help="print the SQL statements of each kind's last request")
    parser.add_argument("--dump", help="cProfile: also write KIND.prof into this folder (pstats, snakeviz)")
    args = parser.parse_args(argv)
    kinds = args.kind or ["health", "open", "sync"]
    n = args.requests
    with tempfile.TemporaryDirectory(prefix="bench-b1p-") as tmp, emulator(Path(tmp) / "emulator") as emu:
        database_url = f"sqlite:///{tmp}/crm.sqlite3"
        migrate.upgrade(database_url)
        seed_crm(database_url)
        env = {**backend_env(emu, database_url, Path(tmp)), "RATE_LIMIT": "100000 per minute"}
        os.environ.update(env)
        messages = [message(i) for i in range(WARMUP + 2 * n + 1)]
        ids = emu.admin("POST", "messages/bulk", json={"upn": ADELE, "folder": "inbox", "messages": messages}).json()[
            "ids"
        ]
        people = dict(zip(ids, map(shown_people, messages)))
        warm, opened, fresh = ids[:WARMUP], ids[WARMUP : WARMUP + n], ids[WARMUP + n : WARMUP + 2 * n]
        spare = requests_of("sync", ids[-1:], people)[0]  # one more fresh sync, for its SQL
        app = create_app()
        client = app.test_client()
        statements: list[str] = []
        event.listen(engine_for(app), "before_cursor_execute", lambda *a: statements.append(a[2]))
        headers = {"Authorization": f"Bearer {emu.pane_token(ADELE)}"}

        def send(method: str, path: str, params: dict | None) -> None:
            response = client.open(path, method=method, query_string=params, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.get_data(as_text=True)[:300]}")

        for m in warm + opened:  # as B1: every open is of a message opened and synced once
            send("GET", "/api/v1/health", None)
            send("GET", f"/api/v1/messages/{m}", {"people": people[m]})
            send("POST", f"/api/v1/messages/{m}/sync", None)
        for kind in kinds:
            batch = requests_of(kind, opened if kind == "open" else fresh, people)
            started_cpu, started = time.process_time(), time.perf_counter()
            if args.profiler in ("pyinstrument", "components"):
                profiler = Profiler(interval=0.0002 if args.profiler == "pyinstrument" else 0.001)
                profiler.start()
                for request in batch:
                    send(*request)
                profiler.stop()
                if args.profiler == "components":
                    report = component_report(profiler.last_session.root_frame(), len(batch), args.top)
                else:
                    report = profiler.output_text(unicode=False, color=False, show_all=False)
            elif args.profiler == "cprofile":
                # This thread's CPU time, so waiting on the emulator counts for nothing.
                profile = cProfile.Profile(time.thread_time)
                profile.enable()
                for request in batch:
                    send(*request)
                profile.disable()
                if args.dump:
                    profile.dump_stats(str(Path(args.dump) / f"{kind}.prof"))
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
                out.write("\n-- by cumulative time --\n")
                pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
                report = out.getvalue()
            else:
                for request in batch:
                    send(*request)
                report = ""
            cpu_ms = (time.process_time() - started_cpu) * 1000 / len(batch)
            wall_ms = (time.perf_counter() - started) * 1000 / len(batch)
            print(f"\n===== {kind}: {len(batch)} requests, {cpu_ms:.1f} ms CPU / {wall_ms:.1f} ms wall each (profiled)")
            statements.clear()
            send(*(spare if kind == "sync" else batch[-1]))
            print(f"SQL statements of one more {kind}: {len(statements)}")
            if args.sql:
                print("\n".join("  " + " ".join(s.split())[:160] for s in statements))
            print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
