"""Benchmark: import 100,000 CSV rows into an empty tenant, then the same file again.

    .venv/bin/python -m bench.bench_import [--rows N] [--database-url URL] [--no-write]

Prints rows/s and peak RSS, and writes them into bench/RESULTS.md under the
"Import" heading (only that section is replaced). The target (issue 4): under
60 s for 100,000 rows, with flat memory: resident memory is sampled after every
batch, and the growth between the first tenth of the file and the end is shown.
Without --database-url the database is a fresh SQLite file in a temporary directory.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from server import migrate  # noqa: E402
from server.crm.importing import BATCH_SIZE, import_file  # noqa: E402
from server.db import make_engine  # noqa: E402

TENANT = "8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11"
RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Import"
TARGET_S = 60.0

FIRST = ["Jan", "Petr", "Jiří", "Tereza", "Kateřina", "Łukasz", "Małgorzata", "Agnieszka", "Tomasz", "Žofie",
         "Lynne", "Nestor", "Grace", "Henrik", "Diego", "Miriam", "Isaiah", "Johanna", "Alex", "Zuzana"]
LAST = ["Novák", "Dvořák", "Svobodová", "Šťastný", "Zieliński", "Wróblewski", "Kamińska", "Nowak", "Robbins",
        "Wilke", "Taylor", "Larsen", "Siciliani", "Graham", "Langer", "Lorenz", "Wilber", "Horáková"]
FREE = ["gmail.com", "seznam.cz", "wp.pl", "outlook.com"]
COMPANIES = 2000


def write_csv(path: Path, rows: int) -> None:
    """A realistic file, streamed to disk: 2,000 companies, one or two addresses per
    row (some free-mail), IDN domains, and 1% of rows repeating an earlier address."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("\ufefffirst_name;last_name;email;company;job_title;phone\r\n")
        for i in range(rows):
            first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
            person = i - 1 if i % 100 == 99 else i   # a duplicate of the previous row's address
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
    started = time.perf_counter()
    summary = import_file(factory, TENANT, path, progress=lambda done, _bytes: samples.append((done, rss_mb())))
    elapsed = time.perf_counter() - started
    warm = next((mb for done, mb in samples if done >= rows // 10), samples[0][1])
    return summary, elapsed, warm, max(mb for _, mb in samples)


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
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/crm.sqlite3"
        migrate.upgrade(url)
        engine = make_engine(url)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        path = Path(tmp) / "contacts.csv"
        write_csv(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        base_rss = rss_mb()

        first, first_s, warm, top = timed_import(factory, path, args.rows)
        again, again_s, _, top_again = timed_import(factory, path, args.rows)
        engine.dispose()

    backend = make_url(url).get_backend_name()
    lines = [
        f"{args.rows:,} rows ({size_mb:.1f} MB CSV, ';'-delimited, BOM) into an empty tenant, {backend}, "
        f"batches of {BATCH_SIZE}",
        f"first import : {first_s:6.1f} s  {args.rows / first_s:8,.0f} rows/s  "
        f"created {first.created:,}, merged {first.merged:,}, errors {first.errors}, "
        f"companies {first.companies_created:,}",
        f"re-import    : {again_s:6.1f} s  {args.rows / again_s:8,.0f} rows/s  "
        f"created {again.created:,}, updated {again.updated:,}, skipped {again.skipped:,}",
        f"memory       : RSS {base_rss:.0f} MiB before, {warm:.0f} MiB after the first tenth, "
        f"{top:.0f} MiB max during import ({max(top, top_again):.0f} MiB with re-import); "
        f"peak RSS {peak_rss_mb():.0f} MiB",
    ]
    print("\n".join(lines))
    verdict = "PASS" if first_s < TARGET_S else "FAIL"
    print(f"target < {TARGET_S:.0f} s: {verdict}")
    if not args.no_write:
        when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        section = (f"{HEADING}\n\n`python -m bench.bench_import` ({when}, Python {platform.python_version()}, "
                   f"{os.cpu_count()} CPUs). Target: 100,000 rows under {TARGET_S:.0f} s with flat memory "
                   f"({verdict}).\n\n```\n" + "\n".join(lines) + "\n```\n")
        existing = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
        RESULTS.write_text(replace_section(existing, section), encoding="utf-8")
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
