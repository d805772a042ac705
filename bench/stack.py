"""The product as benchmarks run it: the emulator process, a migrated database and
the backend under gunicorn, configured exactly as production against Microsoft."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from bench.results import ROOT
from tests.support.emulator_process import EmulatorProcess, start_emulator, stop_emulator

CLIENT_ID = "6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13"
CONTOSO = "8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11"
ADELE = "adele.vance@contoso.com"
TEST_FIXTURE = ROOT / "emulator" / "fixtures" / "test.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def emulator(state_dir: Path) -> Iterator[EmulatorProcess]:
    running = start_emulator(state_dir, TEST_FIXTURE)
    try:
        yield running
    finally:
        stop_emulator(running.process)


def backend_env(emu: EmulatorProcess, database_url: str, instance_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "GRAPH_BASE_URL": emu.graph_url,
        "AUTHORITY_HOST": emu.base_url,
        "CA_BUNDLE": emu.ca_path,
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_CLIENT_SECRET": "local-emulator-only",  # the emulator's dev-only value
        "AZURE_TENANT_ID": "organizations",
        "PUBLIC_BASE_URL": "http://localhost:5000",
        "API_AUDIENCE": f"api://localhost:5000/{CLIENT_ID},{CLIENT_ID}",
        "SECRET_KEY": "bench-only",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


@contextmanager
def gunicorn(env: dict[str, str], workers: int, log_path: Path) -> Iterator[str]:
    """`gunicorn -w N "server:create_app()"` on a free port; yields its base URL."""
    port = free_port()
    log = open(log_path, "w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            *(["-c", os.environ["BENCH_GUNICORN_CONFIG"]] if os.environ.get("BENCH_GUNICORN_CONFIG") else []),
            "server:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "/api/v1/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start:\n" + log_path.read_text())
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
