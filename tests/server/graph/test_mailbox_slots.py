"""Outlook's 4 concurrent requests per mailbox, shared by every process through Redis:
two processes on one mailbox never have more than 4 requests in flight at the emulator
(which answers the 5th with 429 ApplicationThrottled and logs it), and a slot leased by
a killed process comes back once its lease expires."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from redis import Redis

from server.graph import GraphClient, Throttled
from server.graph.slots import LocalSlots, RedisSlots, mailbox_slots
from tests.support.emulator_process import trusting_session
from tests.support.identities import ADELE_OID, CONTOSO

pytestmark = pytest.mark.redis
SPAWN = multiprocessing.get_context("spawn")
MESSAGE_PATH = rf"^/v1\.0/users/{ADELE_OID}/messages/"


def read_messages(
    graph_url: str, ca_path: str, token: str, redis_url: str, ids: list[str], start, threads: int
) -> None:
    """A worker process: `threads` threads reading Adele's messages, all at once."""
    graph = GraphClient(
        graph_url, lambda: token, trusting_session(ca_path), user=ADELE_OID, max_wait_s=30, redis_url=redis_url
    )
    start.wait(30)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        got = list(pool.map(lambda i: graph.get_message(i)["id"], ids))
    assert got == ids


def hold_all_slots(redis_url: str, mailbox: str, lease_s: float, held, release) -> None:
    """A worker process that takes every slot of `mailbox` and keeps them until told."""
    slots = RedisSlots(Redis.from_url(redis_url), mailbox, lease_s=lease_s)
    with contextlib.ExitStack() as stack:
        for _ in range(4):
            stack.enter_context(slots.hold(5))
        held.set()
        release.wait(60)


def test_two_processes_on_one_mailbox_never_exceed_four_requests_in_flight(emulator, redis_url):
    emulator.reset()
    token = emulator.app_token(CONTOSO)
    graph = GraphClient(emulator.graph_url, lambda: token, emulator.session, user=ADELE_OID)
    ids = [m["id"] for m in graph.list_messages("inbox", select=("id",))][:6]
    assert len(ids) == 6
    emulator.fault(path=MESSAGE_PATH, kind="latency", latency_ms=150)
    emulator.clear_requests()
    start = SPAWN.Event()
    workers = [
        SPAWN.Process(
            target=read_messages, args=(emulator.graph_url, emulator.ca_path, token, redis_url, ids * 2, start, 6)
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            worker.start()
        start.set()
        for worker in workers:
            worker.join(60)
        assert [w.exitcode for w in workers] == [0, 0]
    finally:
        emulator.clear_faults()
        for worker in workers:
            if worker.is_alive():
                worker.kill()

    rows = emulator.requests(path=MESSAGE_PATH)
    assert len(rows) == 24
    assert [r for r in rows if r["status"] != 200 or r["throttled"]] == []


def test_a_slot_held_in_another_process_is_not_free_here(redis_url):
    mailbox = f"{uuid.uuid4().hex}@contoso.com"
    held, release = SPAWN.Event(), SPAWN.Event()
    holder = SPAWN.Process(target=hold_all_slots, args=(redis_url, mailbox, 60, held, release))
    holder.start()
    try:
        assert held.wait(30)
        slots = mailbox_slots(mailbox, redis_url)
        with pytest.raises(Throttled) as busy:
            with slots.hold(0.2):
                pass
        assert busy.value.retry_after == 1 and busy.value.code == "MailboxConcurrency"
        release.set()
        holder.join(30)
        with slots.hold(10):
            assert slots.holders() == 1
        assert slots.holders() == 0
    finally:
        release.set()
        if holder.is_alive():
            holder.kill()


def test_the_slots_of_a_killed_process_come_back_when_their_leases_expire(redis_url):
    mailbox = f"{uuid.uuid4().hex}@contoso.com"
    held, release = SPAWN.Event(), SPAWN.Event()
    holder = SPAWN.Process(target=hold_all_slots, args=(redis_url, mailbox, 1.0, held, release))
    holder.start()
    assert held.wait(30)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(30)
    slots = mailbox_slots(mailbox, redis_url)
    assert slots.holders() == 4  # nobody released them

    with contextlib.ExitStack() as stack:  # all four free again once their 1 s leases ran out
        for _ in range(4):
            stack.enter_context(slots.hold(30))
        assert slots.holders() == 4  # ours: the dead process's leases are gone
    assert slots.holders() == 0


def test_without_redis_the_slots_are_this_processs_own():
    slots = mailbox_slots("Someone@Contoso.com")
    assert isinstance(slots, LocalSlots) and slots is mailbox_slots("someone@contoso.com")
    with contextlib.ExitStack() as stack:
        for _ in range(4):
            stack.enter_context(slots.hold(1))
        with pytest.raises(Throttled):
            with slots.hold(0.05):
                pass


def test_unreachable_redis_falls_back_to_this_processs_slots():
    slots = mailbox_slots(f"{uuid.uuid4().hex}@contoso.com", "redis://127.0.0.1:1/0")
    assert isinstance(slots, RedisSlots)
    with slots.hold(1):
        pass


def test_background_work_leaves_one_slot_to_interactive_requests():
    slots = mailbox_slots(f"{uuid.uuid4().hex}@contoso.com")
    with contextlib.ExitStack() as stack:
        for _ in range(3):
            stack.enter_context(slots.hold(1, background=True))
        with pytest.raises(Throttled):  # a 4th background request waits (here: gives up)
            with slots.hold(0.05, background=True):
                pass
        with slots.hold(0.05):  # an interactive one gets the 4th at once
            with pytest.raises(Throttled):
                with slots.hold(0.05):
                    pass


def test_background_work_leaves_one_slot_to_interactive_requests_in_redis(redis_url):
    slots = mailbox_slots(f"{uuid.uuid4().hex}@contoso.com", redis_url)
    assert isinstance(slots, RedisSlots)
    with contextlib.ExitStack() as stack:
        for _ in range(3):
            stack.enter_context(slots.hold(1, background=True))
        with pytest.raises(Throttled):
            with slots.hold(0.05, background=True):
                pass
        with slots.hold(0.05):
            assert slots.holders() == 4
