"""A real redis-server and real `rq worker` processes with the backend's settings, for the
tests of the RQ job queue and of state shared through Redis."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.backend import JOB_SETTINGS
from tests.support.identities import CLIENT_ID
from tests.support.paths import ROOT
from tests.support.waiting import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


@contextmanager
def redis_server(binary: str, workdir: Path, port: int | None = None) -> Iterator[str]:
    """A redis-server on `port` (a free one when None) in `workdir`; its URL, until the
    block ends."""
    port = port or free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # redis is an optional test dependency, needed only once a redis-server exists.
    from redis import Redis

    client = Redis(host="127.0.0.1", port=port)
    wait_for(lambda: _pings(client), 10, 0.05, "redis-server")
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(10)


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


class RqWorkers:
    """Starts real `rq worker` processes with the backend's settings in their environment."""

    def __init__(self, app, emulator, tmp_path: Path):
        self.app = app
        self.tmp_path = tmp_path
        config = app.config
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))},
            "DATABASE_URL": config["DATABASE_URL"],
            "REDIS_URL": config["REDIS_URL"],
            "GRAPH_BASE_URL": config["GRAPH_BASE_URL"],
            "AUTHORITY_HOST": config["AUTHORITY_HOST"],
            "CA_BUNDLE": config["CA_BUNDLE"],
            "AZURE_CLIENT_ID": CLIENT_ID,
            "AZURE_CLIENT_SECRET": config["AZURE_CLIENT_SECRET"],
            "AZURE_TENANT_ID": "organizations",
            "PUBLIC_BASE_URL": config["PUBLIC_BASE_URL"],
            "NOTIFICATION_BASE_URL": config["NOTIFICATION_BASE_URL"],
            "GRAPH_MAX_WAIT_S": str(config["GRAPH_MAX_WAIT_S"]),
            "GRAPH_TIMEOUT_S": str(config["GRAPH_TIMEOUT_S"]),
            **{k: str(v) for k, v in JOB_SETTINGS.items()},
            "PYTHONUNBUFFERED": "1",
        }
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        log = open(self.tmp_path / f"rq-worker-{len(self.processes)}.log", "w")
        rq = str(Path(sys.executable).with_name("rq"))
        process = subprocess.Popen(
            [
                rq,
                "worker",
                "--with-scheduler",
                "--worker-class",
                "rq.worker.SimpleWorker",
                "--url",
                self.app.config["REDIS_URL"],
                "crm",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL, like a lost machine: the worker and its scheduler process at once."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            try:
                os.killpg(process.pid, signal.SIGKILL)  # what the worker left behind
            except ProcessLookupError:
                pass
