"""Fixtures every suite shares: a real emulator process over real HTTPS.

`emulator` (session) starts `python -m emulator` as a subprocess on a free port
with the test fixture and a throwaway state dir, and hands tests a small client
for its admin API (tests/support/emulator_process.py). `emulator_reset` puts it back
to the fixture's state; tests under tests/emulator/ get it automatically.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.emulator_process import (
    TEST_FIXTURE,
    EmulatorProcess,
    start_emulator,
    stop_emulator,
)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """One emulator process for the whole session (per xdist worker)."""
    running = start_emulator(tmp_path_factory.mktemp("emulator-state"))
    yield running
    stop_emulator(running.process)


@pytest.fixture
def emulator_reset(emulator):
    """The emulator as the fixture seeds it: data, consent, no faults, default limits, empty log."""
    emulator.reset()
    yield emulator


@pytest.fixture
def launch_emulator():
    """Start extra emulators (own state dir, fixture, args); all are stopped after the test.

    Call `launch_emulator(state_dir, fixture=..., extra_args=[...])`; `.stop(running)` stops one early.
    """
    started = []

    def launch(state_dir: Path, fixture: Path | None = TEST_FIXTURE, extra_args=()) -> EmulatorProcess:
        running = start_emulator(Path(state_dir), fixture, extra_args)
        started.append(running)
        return running

    launch.stop = lambda running: stop_emulator(running.process)
    yield launch
    for running in started:
        stop_emulator(running.process)
