"""`python -m bench [NAME ...] [options]`: runs every benchmark, or the ones named.

Names: b1 (pane open and sync overhead under gunicorn), b2 (matching at scale;
--quick 10k/100k by default, --full adds 1M), b3 (bulk sync; --quick 10k/30k by
default, --full 10k/100k), b4 (load: 50 locust users on gunicorn + RQ, PostgreSQL, Redis;
--quick 20 s), b5 (the task pane in Chromium), b6 (forged webhook notifications
against the bare endpoint, under gunicorn; seconds), b7 (filing an email with 10
attachments totalling 150 MB: Graph requests, time, peak RSS), b8 (automatic sync at
tenant scale: 1,000 mailboxes, 10,000 notified messages, 1/2/4 RQ workers, then delta
catch-up; --quick 100 x 1,000 by default, --full 1,000 x 10,000), b9 (accent-free contact search at
scale; --quick 10k/100k by default, --full adds 1M), import
(CSV import, bench/bench_import.py). Options after the names go to each benchmark.
"""

from __future__ import annotations

import importlib
import sys
import time

BENCHMARKS = {
    "b1": "bench.b1_pane_api",
    "b2": "bench.b2_matching",
    "b3": "bench.b3_bulk",
    "b4": "bench.b4_load",
    "b5": "bench.b5_pane_browser",
    "b6": "bench.b6_webhook_flood",
    "b7": "bench.b7_attachments",
    "b8": "bench.b8_tenant_scale",
    "b9": "bench.b9_search",
    "import": "bench.bench_import",
}


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    names = [a for a in argv if a in BENCHMARKS]
    options = [a for a in argv if a not in BENCHMARKS]
    failed = []
    for name in names or list(BENCHMARKS):
        print(f"\n=== {name} ===", flush=True)
        started = time.monotonic()
        module = importlib.import_module(BENCHMARKS[name])
        # Benchmarks of this package ignore options meant for others; bench_import
        # (strict argparse) gets only --no-write.
        code = module.main(options if hasattr(module, "OPTIONS") else [o for o in options if o == "--no-write"])
        print(f"=== {name}: {'ok' if code == 0 else 'missed a target'} in {time.monotonic() - started:.0f} s")
        if code:
            failed.append(name)
    if failed:
        print(f"\nmissed targets: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
