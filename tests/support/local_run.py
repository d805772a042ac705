"""`make run` as a developer meets it: scripts/run-local.sh started on free ports with its
own instance dir (so the developer's instance/ is never touched), its banner, and every
process it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil

from server.config import SETTINGS
from tests.support.paths import ROOT

SCRIPT = ROOT / "scripts" / "run-local.sh"
BANNER_END = "Stop with Ctrl+C."
# Busy machines take a while: the emulator makes its keys, the CLI migrates and imports.
START_TIMEOUT_S = 150


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalRun:
    """One run of scripts/run-local.sh in its own process group; its output goes to a file."""

    def __init__(self, instance_dir: Path):
        self.instance_dir = instance_dir
        self.emulator_port = free_port()
        self.port = free_port()
        self.output_path = instance_dir.parent / f"run-{self.port}.out"
        # The backend's settings come from the script alone: none leaks in from the test
        # run (a PostgreSQL DATABASE_URL, a REDIS_URL, the emulator's URLs).
        env = {name: value for name, value in os.environ.items() if name not in {s.name for s in SETTINGS}}
        env.update(
            EMULATOR_PORT=str(self.emulator_port),
            PORT=str(self.port),
            INSTANCE_DIR=str(instance_dir),
            PYTHONUNBUFFERED="1",
        )
        with open(self.output_path, "wb") as out:
            self.process = subprocess.Popen(
                ["bash", str(SCRIPT)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )

    @property
    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def wait_for_banner(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while BANNER_END not in self.output:
            if self.process.poll() is not None:
                raise AssertionError(f"run-local.sh ended with {self.process.returncode}:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no banner within {START_TIMEOUT_S} s:\n{self.output}")
            time.sleep(0.2)
        return self.output

    def started(self) -> list[psutil.Process]:
        """Every process the script runs now (children and their children)."""
        return psutil.Process(self.process.pid).children(recursive=True)

    def signal(self, signum: int, *, whole_group: bool = False) -> None:
        """To the script alone (a `kill`), or to its process group (a terminal's Ctrl+C)."""
        if whole_group:
            os.killpg(self.process.pid, signum)
        else:
            self.process.send_signal(signum)

    def kill_leftovers(self) -> None:
        """Ends whatever is left in the run's own process group (only after a failure)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)


def still_running(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Those of `processes` still alive after waiting up to `timeout` seconds for them."""
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
