"""Writing one benchmark's section of bench/RESULTS.md, and the machine it ran on.

Each section is its "## " heading followed by the markers `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->`; only the text from the heading to the end marker is replaced,
so other sections (e.g. "## Import", written by bench_import) stay as they are.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"


def machine() -> str:
    """One line: cores, memory, CPU model, Python, date (UTC)."""
    try:
        cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        cores = str(os.cpu_count())
    memory = "?"
    model = platform.processor() or "?"
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
        memory = f"{kib / 2**20:.0f} GiB"
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration, ValueError):
        pass
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{cores} cores (nproc), {memory} RAM, {model}, Python {platform.python_version()}, {when}"


def replace_section(text: str, name: str, heading: str, body: str) -> str:
    start_marker, end_marker = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    section = f"{heading}\n{start_marker}\n\n{body.strip()}\n\n{end_marker}\n"
    pattern = re.compile(
        r"^## [^\n]*\n" + re.escape(start_marker) + r".*?" + re.escape(end_marker) + r"\n?", re.S | re.M
    )
    if pattern.search(text):
        return pattern.sub(lambda _m: section, text, count=1)
    return (text.rstrip("\n") + "\n\n" if text.strip() else "# Benchmark results\n\n") + section


def write_section(name: str, heading: str, body: str) -> None:
    """Replaces (or appends) the section NAME of bench/RESULTS.md."""
    existing = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    RESULTS.write_text(replace_section(existing, name, heading, body), encoding="utf-8")
    print(f"written to {RESULTS.relative_to(ROOT)} ({heading.lstrip('# ')})")


def percentile(values, p: float) -> float:
    """Nearest-rank percentile of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, int(round(p / 100 * len(ordered) + 0.5 - 1e-9)))
    return ordered[min(rank, len(ordered)) - 1]
