"""Benchmark: import 100,000 CSV rows into an empty tenant, then the same file again.

    .venv/bin/python -m bench.bench_import [--rows N] [--postgres-url URL] [--no-write]

Prints rows/s and peak RSS, and writes them into bench/RESULTS.md under the
"Import" heading (only that section is replaced). The target: under
60 s for 100,000 rows, with flat memory: resident memory is sampled after every
batch, and the growth between the first tenth of the file and the end is shown.
It runs on a fresh SQLite file, and with --postgres-url (or BENCH_POSTGRES_URL) also
on a throwaway database of that PostgreSQL server.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from server import migrate  # noqa: E402
from server.crm.import_batches import BATCH_SIZE, import_file  # noqa: E402
from server.db import make_engine  # noqa: E402

TENANT = "8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11"
RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Import"
TARGET_S = 60.0

FIRST = [
    "Jan",
    "Petr",
    "Jiří",
    "Tereza",
    "Kateřina",
    "Łukasz",
    "Małgorzata",
    "Agnieszka",
    "Tomasz",
    "Žofie",
    "Lynne",
    "Nestor",
    "Grace",
    "Henrik",
    "Diego",
    "Miriam",
    "Isaiah",
    "Johanna",
    "Alex",
    "Zuzana",
]
LAST = [
    "Novák",
    "Dvořák",
    "Svobodová",
    "Šťastný",
    "Zieliński",
    "Wróblewski",
    "Kamińska",
    "Nowak",
    "Robbins",
    "Wilke",
    "Taylor",
    "Larsen",
    "Siciliani",
    "Graham",
    "Langer",
    "Lorenz",
    "Wilber",
    "Horáková",
]
FREE = ["gmail.com", "seznam.cz", "wp.pl", "outlook.com"]
COMPANIES = 2000


def write_csv(path: Path, rows: int) -> None:
    """A realistic file, streamed to disk: 2,000 companies, one or two addresses per
    row (some free-mail), IDN domains, and 1% of rows repeating an earlier address."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("\ufefffirst_name;last_name;email;company;job_title;phone\r\n")
        for i in range(rows):
            first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
            person = i - 1 if i % 100 == 99 else i  # a duplicate of the previous row's address
            n = person % COMPANIES
            domain = f"firma-{n}.cz" if n % 10 else f"bücher-{n}.de"
            emails = f"p{person}@{domain}"
            if i % 3 == 0:
                emails += f"; p{person}.{i}@{FREE[i % len(FREE)]}"
            company = f"Firma {n} s.r.o." if i % 7 else f"FIRMA  {n} S.R.O."
            out.write(f'{first};{last};"{emails}";{company};Obchodník;+420 {i:09d}\r\n')


def rss_mb() -> float:
    """Current resident set size (Linux /proc), in MiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux -> MiB


def timed_import(factory, path: Path, rows: int):
    samples: list[tuple[int, float]] = []
    started, cpu = time.perf_counter(), time.process_time()
    summary = import_file(factory, TENANT, path, progress=lambda done, _bytes: samples.append((done, rss_mb())))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    warm = next((mb for done, mb in samples if done >= rows // 10), samples[0][1])
    return summary, elapsed, cpu, warm, max(mb for _, mb in samples)


@contextmanager
def fresh_database(postgres_url: str | None, tmp: str) -> Iterator[str]:
    """A new SQLite file, or a new database on the PostgreSQL server (dropped after)."""
    if not postgres_url:
        yield f"sqlite:///{tmp}/crm.sqlite3"
        return
    url = make_url(postgres_url)
    name = f"crm_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(rows: int, postgres_url: str | None) -> tuple[list[str], float]:
    """Both imports on one backend: (report lines, seconds of the first import)."""
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp, fresh_database(postgres_url, tmp) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        path = Path(tmp) / "contacts.csv"
        write_csv(path, rows)
        size_mb = path.stat().st_size / 1e6
        base_rss = rss_mb()
        load = os.getloadavg()[0]
        first, first_s, first_cpu, warm, top = timed_import(factory, path, rows)
        again, again_s, again_cpu, _, top_again = timed_import(factory, path, rows)
        engine.dispose()
    lines = [
        f"{rows:,} rows ({size_mb:.1f} MB CSV, ';'-delimited, BOM) into an empty tenant, "
        f"{make_url(url).get_backend_name()}, batches of {BATCH_SIZE}; load average {load:.1f} at start",
        f"first import : {first_s:6.1f} s  {rows / first_s:8,.0f} rows/s  ({first_cpu:.1f} s CPU in this process) "
        f"created {first.created:,}, merged {first.merged:,}, errors {first.errors}, "
        f"companies {first.companies_created:,}",
        f"re-import    : {again_s:6.1f} s  {rows / again_s:8,.0f} rows/s  ({again_cpu:.1f} s CPU in this process) "
        f"created {again.created:,}, updated {again.updated:,}, skipped {again.skipped:,}",
        f"memory       : RSS {base_rss:.0f} MiB before, {warm:.0f} MiB after the first tenth, "
        f"{top:.0f} MiB max during import ({max(top, top_again):.0f} MiB with re-import); "
        f"peak RSS of the run so far {peak_rss_mb():.0f} MiB",
    ]
    print("\n".join(lines), flush=True)
    return lines, first_s


def replace_section(text: str, section: str) -> str:
    """`text` with the "## Import" section replaced by `section` (appended if absent)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == HEADING), None)
    if start is None:
        return (text.rstrip("\n") + "\n\n" if text.strip() else "") + section
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "".join(lines[:start]) + section + ("\n" + "".join(lines[end:]) if end < len(lines) else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL"),
        help="also run on this PostgreSQL server (a throwaway database is created on it)",
    )
    parser.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    args = parser.parse_args(argv)

    blocks, worst = [], 0.0
    for postgres_url in [None] + ([args.postgres_url] if args.postgres_url else []):
        lines, first_s = run(args.rows, postgres_url)
        blocks.append("\n".join(lines))
        worst = max(worst, first_s)
    verdict = "PASS" if worst < TARGET_S else "FAIL"
    print(f"target < {TARGET_S:.0f} s: {verdict}")
    if not args.no_write:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        section = (
            f"{HEADING}\n\n`python -m bench.bench_import` ({when}, Python {platform.python_version()}, "
            f"{os.cpu_count()} CPUs). Target: 100,000 rows under {TARGET_S:.0f} s with flat "
            f"memory: {verdict}. Wall-clock times depend on the machine's load (shown); the CPU "
            "seconds of the importing process do not.\n\n```\n" + "\n\n".join(blocks) + "\n```\n"
        )
        existing = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
        RESULTS.write_text(replace_section(existing, section), encoding="utf-8")
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
