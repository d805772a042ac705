"""`make run` (scripts/run-local.sh) as a developer meets it: the demo starts clean under a
real server (no development-server warning), prints the URLs the README shows, and Ctrl+C
or a kill stops every process it started."""

from __future__ import annotations

import re
import signal

import pytest
import requests

from tests.support.emulator_process import trusting_session
from tests.support.local_run import BANNER_END, LocalRun, still_running
from tests.support.paths import ROOT
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(400)

BANNER_START = "  CRM Sync for Outlook is running."
ACCESS_LOG = re.compile(r'^127\.0\.0\.1 "GET \S+ HTTP/1\.1" \d{3} \S+ \d+ms$')


@pytest.fixture(scope="module")
def instance_dir(tmp_path_factory):
    """One instance dir for the module's runs: the first migrates and imports, the others reuse it."""
    return tmp_path_factory.mktemp("run-local") / "instance"


def lines_after_the_banner(run: LocalRun) -> list[str]:
    """The whole lines printed after the banner (a line still being written is left out)."""
    after = run.output.split(BANNER_END, 1)[1]
    return [line for line in after[: after.rfind("\n") + 1].splitlines() if line.strip()]


def banner_as_the_readme_shows_it(output: str, run: LocalRun) -> str:
    banner = output[output.index(BANNER_START) : output.index(BANNER_END) + len(BANNER_END)]
    return (
        banner.replace(f"localhost:{run.emulator_port}", "localhost:8443")
        .replace(f"localhost:{run.port}", "localhost:5000")
        .replace(str(run.instance_dir), "instance")
    )


@pytest.mark.parametrize(
    "signum, whole_group",
    [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGINT, True)],
    ids=["kill-TERM", "kill-INT", "ctrl-c-to-the-group"],
)
def test_make_run_starts_clean_and_stopping_it_stops_everything_it_started(instance_dir, signum, whole_group):
    run = LocalRun(instance_dir)
    try:
        output = run.wait_for_banner()
        started = run.started()
        commands = [" ".join(p.cmdline()) for p in started]
        assert any("-m emulator" in c for c in commands), commands
        assert any("gunicorn" in c for c in commands), commands

        # A real server, and the README shows exactly what is printed.
        assert "development server" not in output
        assert "Outlook-like demo page : https://localhost:" in output
        assert banner_as_the_readme_shows_it(output, run) in (ROOT / "README.md").read_text()

        # The banner is the last thing printed before the request logs (the app's own log
        # lines may come between requests: a periodic task's warning is no start-up noise).
        page = requests.get(f"http://localhost:{run.port}/crm/", allow_redirects=False, timeout=30)
        assert page.status_code == 302
        # The printed Outlook URL needs no parameter: the page loads the add-in from this backend.
        emulator = trusting_session(str(instance_dir / "emulator" / "ca.pem"))
        outlook = emulator.get(f"https://localhost:{run.emulator_port}/outlook/", timeout=30)
        assert outlook.status_code == 200 and f"http://localhost:{run.port}" in outlook.text
        # gunicorn writes the access line after the response has left, so it may lag the reply.
        lines = wait_for(lambda: lines_after_the_banner(run), timeout=30, what="the first access log line")
        after = run.output.split(BANNER_END, 1)[1]
        assert ACCESS_LOG.match(lines[0]), after
        assert "development server" not in after and "Traceback" not in after, after

        run.signal(signum, whole_group=whole_group)
        assert run.process.wait(timeout=60) != 0, run.output
        assert still_running(started, timeout=15) == [], f"left running after the script ended:\n{run.output}"
    finally:
        run.kill_leftovers()
