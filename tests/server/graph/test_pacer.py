"""Each mailbox's request budget, spent by the pacer instead of running into 429: the
emulator enforces the same budget (requests per sliding window per mailbox) and logs a
429 for every request over it, so "no 429 in its log" is the budget kept.

- Two real processes on one mailbox, sharing the budget through one redis-server, never
  overrun it together, and share it evenly: once the first window's budget is spent,
  neither waits out a window while the other spends the next.
- Background work (a job) leaves the interactive reserve free: a pane request goes
  through at once while a bulk load keeps the budget saturated.
- Without Redis the pacer is this process's own, and still keeps the budget.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from redis import Redis

from server.graph import GraphClient, Throttled
from server.graph.pacer import (
    KEY_PREFIX,
    Budget,
    LocalPacer,
    RedisPacer,
    mailbox_pacer,
    request_cost,
    throttled_count,
)
from server.workload import background, is_background
from tests.support.emulator_process import trusting_session
from tests.support.identities import ADELE, ADELE_OID, CONTOSO
from tests.support.waiting import wait_for

SPAWN = multiprocessing.get_context("spawn")
MESSAGE_PATH = rf"^/v1\.0/(users/{ADELE_OID}|me)/messages/"


def message_ids(emulator, count: int) -> list[str]:
    token = emulator.app_token(CONTOSO)
    graph = GraphClient(emulator.graph_url, lambda: token, emulator.session, user=ADELE_OID)
    ids = [m["id"] for m in graph.list_messages("inbox", select=("id",))][:count]
    assert len(ids) == count
    return ids


def paced_reads(graph_url, ca_path, token, redis_url, ids, budget, ready, start, stop, threads) -> None:
    """A worker process: `threads` threads of background work reading `ids` over and
    over, paced, until `stop`."""
    session = trusting_session(ca_path)
    graph = GraphClient(
        graph_url, lambda: token, session, user=ADELE_OID, max_wait_s=60, redis_url=redis_url, budget=budget
    )
    for _ in range(threads):  # connections open before the start, outside the mailbox's budget
        session.get(graph_url.rsplit("/v1.0", 1)[0] + "/_emulator/users", timeout=30)
    ready.set()

    def read(n: int) -> None:
        with background():
            while not stop.is_set():
                assert graph.get_message(ids[n % len(ids)], select=("id",))["id"] == ids[n % len(ids)]

    start.wait(30)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(read, range(threads)))


@pytest.mark.redis
def test_two_processes_share_one_mailbox_budget_through_redis_never_exceeding_it_and_evenly(emulator, redis_url):
    emulator.reset()
    ids = message_ids(emulator, 6)
    limit, window = 20, 1.5
    budget = Budget(limit, window, reserve=0.0)
    Redis.from_url(redis_url).delete(KEY_PREFIX + ADELE_OID)
    token = emulator.app_token(CONTOSO)
    emulator.limits(mailbox_requests_per_window=limit, window_s=window)
    emulator.clear_requests()
    start, stop, ready = SPAWN.Event(), SPAWN.Event(), [SPAWN.Event(), SPAWN.Event()]
    own = {0: ids[:3], 1: ids[3:]}  # each process reads its own messages: the log tells them apart
    args = (emulator.graph_url, emulator.ca_path, token, redis_url)
    workers = [
        SPAWN.Process(target=paced_reads, args=(*args, own[n], budget, ready[n], start, stop, 3)) for n in (0, 1)
    ]
    try:
        for worker in workers:
            worker.start()
        assert all(r.wait(60) for r in ready)
        start.set()
        wait_for(lambda: len(emulator.requests(path=MESSAGE_PATH)) >= 4 * limit, 120, 0.1, "four windows' worth")
        stop.set()
        for worker in workers:
            worker.join(60)
        assert [w.exitcode for w in workers] == [0, 0]
        rows = emulator.requests(path=MESSAGE_PATH)
    finally:
        stop.set()
        emulator.reset()
        for worker in workers:
            if worker.is_alive():
                worker.kill()

    # Together within the budget: the emulator, counting as Outlook does, refused nothing.
    assert len(rows) >= 4 * limit
    assert [r for r in rows if r["status"] != 200 or r["throttled"]] == []
    # Evenly: once the first window's budget is spent (by whoever came first), each of
    # the next windows' worth of requests, in the order Graph saw them, holds both
    # processes' (neither sat out a window while the other spent the budget).
    who = [0 if any(r["path"].endswith(i) for i in own[0]) else 1 for r in rows]
    windows = [who[n : n + limit] for n in range(limit, 4 * limit, limit)]
    assert all(w.count(0) >= limit // 5 and w.count(1) >= limit // 5 for w in windows), windows


class CountedSleep:
    """time.sleep, counting who slept (the pacer sleeps only when a request must wait)."""

    def __init__(self):
        self.by_thread: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            name = threading.current_thread().name
            self.by_thread[name] = self.by_thread.get(name, 0) + 1
        time.sleep(seconds)

    def count(self, prefix: str) -> int:
        """Sleeps of the threads whose name starts with `prefix`."""
        with self._lock:
            return sum(n for name, n in self.by_thread.items() if name.startswith(prefix))


def test_a_pane_request_goes_through_at_once_while_background_work_saturates_the_budget(emulator):
    """Without Redis: the in-process pacer keeps the budget and the interactive reserve.
    The window is long, so the budget stays spent for the whole test, and the bulk load
    may wait 1 s at most: past that the pacer hands it Throttled at once."""
    emulator.reset()
    ids = message_ids(emulator, 3)
    limit, window = 20, 120.0
    budget = Budget(limit, window, reserve=0.25)  # background may fill 15 of each window's 20
    assert budget.allowance(background=True) == 15 and budget.allowance(background=False) == 20
    pacer = mailbox_pacer(ADELE_OID, budget)  # the one the clients below use: no REDIS_URL
    assert isinstance(pacer, LocalPacer) and pacer.used() == 0
    slept = CountedSleep()
    pacer.sleep = slept
    app_token, pane_token = emulator.app_token(CONTOSO), emulator.graph_token(ADELE)
    bulk = GraphClient(
        emulator.graph_url, lambda: app_token, emulator.session, user=ADELE_OID, budget=budget, max_wait_s=1
    )
    # The pane's client: delegated, on /me, naming its mailbox so it shares the budget.
    pane = GraphClient(emulator.graph_url, lambda: pane_token, emulator.session, mailbox=ADELE_OID, budget=budget)
    emulator.limits(mailbox_requests_per_window=limit, window_s=window)
    emulator.clear_requests()

    def bulk_read(n: int) -> str:
        with background():
            assert is_background()
            try:
                return bulk.get_message(ids[n % len(ids)], select=("id",))["id"]
            except Throttled as refused:
                return refused.code

    try:
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="bulk") as pool:
            outcomes = list(pool.map(bulk_read, range(24)))
        # The bulk load has spent its share of the window: its next request is refused.
        assert outcomes.count("MailboxBudget") == 24 - 15
        assert not is_background()
        pane_read = [pane.get_message(ids[0], select=("id",))["id"] for _ in range(5)]
        with pytest.raises(Throttled) as spent:  # the whole budget is spent now, the reserve too
            pane.get_message(ids[0], select=("id",))
        rows = emulator.requests(path=MESSAGE_PATH)
    finally:
        emulator.reset()

    assert pane_read == [ids[0]] * 5  # the pane's 5 went through: the reserve was free
    assert slept.count("") == 0  # nobody waited: the window's budget stayed spent, no waits
    assert spent.value.code == "MailboxBudget" and spent.value.retry_after > 60
    assert len(rows) == 15 + 5
    assert [r for r in rows if r["status"] != 200 or r["throttled"]] == []  # and nobody met a 429


def test_without_redis_the_in_process_pacer_makes_threads_wait_their_turn():
    clock = [0.0]
    pacer = LocalPacer("someone@contoso.com", Budget(5, 10.0), clock=lambda: clock[0])
    spent = [pacer.try_spend(1, background=False)[0] for _ in range(5)]
    assert all(s is not None for s in spent)
    refused, wait = pacer.try_spend(1, background=False)
    assert refused is None and wait == 10.0  # all five in flight: a window after an answer, at the earliest
    clock[0] = 1.0
    spent[0].settle()
    clock[0] = 2.0
    assert pacer.try_spend(1, background=False) == (None, 9.0)  # the first answer leaves at 11
    spent[1].refund()  # never sent: its unit comes back at once
    assert pacer.try_spend(1, background=False)[0] is not None
    clock[0] = 11.0
    assert pacer.used() == 4  # the settled one left the window
    with pytest.raises(Throttled) as busy:
        pacer.spend(2, background=False, timeout=0.5)
    assert busy.value.code == "MailboxBudget" and busy.value.retry_after >= 1


def test_a_batch_costs_one_per_part():
    body = {"requests": [{"id": str(n), "method": "GET", "url": "/me"} for n in range(20)]}
    assert request_cost("https://graph.example/v1.0/$batch", body) == 20
    assert request_cost("https://graph.example/v1.0/me/messages", body) == 1
    assert request_cost("https://graph.example/v1.0/me/messages/x", None) == 1


@pytest.mark.redis
def test_background_work_in_redis_leaves_the_reserve_to_interactive_requests(redis_url):
    mailbox = f"{uuid.uuid4().hex}@contoso.com"
    budget = Budget(10, 60.0, reserve=0.2)
    pacer = mailbox_pacer(mailbox, budget, redis_url, redis_client=Redis.from_url(redis_url))
    assert isinstance(pacer, RedisPacer)
    for _ in range(8):
        spent, _ = pacer.try_spend(1, background=True)
        spent.settle()
    refused, wait = pacer.try_spend(1, background=True)
    assert refused is None and 0 < wait <= 60
    assert pacer.try_spend(2, background=False)[0] is not None  # the reserve
    assert pacer.try_spend(1, background=False)[0] is None  # and no more: the budget is spent
    assert pacer.used() == 10


def test_unreachable_redis_falls_back_to_this_processs_pacer():
    budget = Budget(3, 60.0)
    url = "redis://127.0.0.1:1/0"
    unreachable = Redis.from_url(url, socket_connect_timeout=0.5)
    pacer = mailbox_pacer(f"{uuid.uuid4().hex}@contoso.com", budget, url, redis_client=unreachable)
    assert isinstance(pacer, RedisPacer)
    for _ in range(3):
        assert pacer.try_spend(1, background=False)[0] is not None
    assert pacer.try_spend(1, background=False)[0] is None


def test_a_batch_takes_the_room_there_is_rather_than_wait_for_all_of_it():
    pacer = LocalPacer(f"{uuid.uuid4().hex}@contoso.com", Budget(10, 60.0))
    for _ in range(7):
        pacer.try_spend(1, background=False)[0].settle()
    assert pacer.try_spend(20, background=False)[0] is None  # all 20 at once: wait
    spent, _ = pacer.try_spend(20, background=False, partial=True)
    assert spent.cost == 3 and pacer.used() == 10  # the 3 parts there is room for go now
    assert pacer.try_spend(17, background=False, partial=True)[0] is None


@pytest.mark.redis
def test_a_batch_takes_the_room_there_is_in_redis_too(redis_url):
    pacer = mailbox_pacer(
        f"{uuid.uuid4().hex}@contoso.com", Budget(10, 60.0), redis_url, redis_client=Redis.from_url(redis_url)
    )
    for _ in range(7):
        pacer.try_spend(1, background=False)[0].settle()
    spent, _ = pacer.try_spend(20, background=False, partial=True)
    assert spent.cost == 3 and pacer.used() == 10
    spent.refund()
    assert pacer.used() == 7


def test_a_429_that_happens_anyway_is_honoured_and_counted(emulator):
    emulator.reset()
    ids = message_ids(emulator, 1)
    token = emulator.app_token(CONTOSO)
    graph = GraphClient(emulator.graph_url, lambda: token, emulator.session, user=ADELE_OID, budget=Budget(100, 60.0))
    before = throttled_count(ADELE_OID)
    emulator.fault(path=MESSAGE_PATH, method="GET", kind="429", retry_after=1, count=1)
    try:
        assert graph.get_message(ids[0], select=("id",))["id"] == ids[0]  # after its Retry-After
    finally:
        emulator.reset()
    assert throttled_count(ADELE_OID) == before + 1


def test_a_batch_with_no_room_waits_only_for_the_first_unit_to_free():
    clock = [0.0]
    pacer = LocalPacer(f"{uuid.uuid4().hex}@contoso.com", Budget(20, 100.0), clock=lambda: clock[0])
    for n in range(20):
        clock[0] = float(n)
        pacer.try_spend(1, background=False)[0].settle()
    assert pacer.try_spend(20, background=False, partial=True) == (None, 81.0)  # the oldest leaves at 100
    assert pacer.try_spend(20, background=False) == (None, 100.0)  # all 20: the 20th leaves at 119
    clock[0] = 102.0
    spent, _ = pacer.try_spend(20, background=False, partial=True)
    assert spent.cost == 3


def two_processes_pacers(redis_url, budget: Budget, grace_s: float = 60.0) -> tuple[RedisPacer, RedisPacer]:
    """Two pacers of one new mailbox, each with its own Redis connection, as two processes
    have. The grace is long unless given: a test that sleeps longer than it meant to on a
    busy machine still finds its waiters in line."""
    mailbox = f"{uuid.uuid4().hex}@contoso.com"
    return tuple(RedisPacer(Redis.from_url(redis_url), mailbox, budget, grace_s=grace_s) for _ in range(2))


def spend_at_once(pacer: RedisPacer, count: int, background: bool = True) -> None:
    for _ in range(count):
        spent, _ = pacer.try_spend(1, background=background)
        assert spent is not None
        spent.settle()


@pytest.mark.redis
def test_in_redis_background_waiters_are_served_first_come_first_served(redis_url):
    one, other = two_processes_pacers(redis_url, Budget(1, 0.3))
    spend_at_once(one, 1, background=False)
    refused, wait = one.try_spend(1, background=True, waiter="first")
    assert refused is None and 0 < wait <= 0.31  # a window after the answer (rounded up a ms)
    assert other.try_spend(1, background=True, waiter="second")[0] is None
    assert one.line() == ["first", "second"]
    time.sleep(wait + 0.05)  # the unit has left the window: one is free
    # Whoever asks first once it is free, the first in line gets it; a newcomer queues last.
    assert other.try_spend(1, background=True, waiter="second")[0] is None
    assert other.try_spend(1, background=True, waiter="newcomer")[0] is None
    spent, _ = one.try_spend(1, background=True, waiter="first")
    assert spent is not None
    spent.settle()
    assert one.line() == ["second", "newcomer"]
    # The second's wait runs to the unit that frees its place: then it goes, not the newcomer.
    refused, wait = other.try_spend(1, background=True, waiter="second")
    assert refused is None and 0 < wait <= 0.31  # a window after the answer (rounded up a ms)
    time.sleep(wait + 0.05)
    assert other.try_spend(1, background=True, waiter="newcomer")[0] is None
    assert other.try_spend(1, background=True, waiter="second")[0] is not None
    assert one.line() == ["newcomer"]


@pytest.mark.redis
def test_in_redis_a_waiter_never_seen_again_stops_holding_the_line_after_its_deadline(redis_url):
    dead, alive = two_processes_pacers(redis_url, Budget(1, 0.2), grace_s=0.1)
    spend_at_once(alive, 1, background=False)
    assert dead.try_spend(1, background=True, waiter="dead")[0] is None  # and its process dies
    assert alive.try_spend(1, background=True, waiter="alive")[0] is None
    assert alive.line() == ["dead", "alive"]
    # Once the dead waiter's deadline has passed (its expected try plus the grace), the
    # line drops it and the one behind it gets the unit.
    spent = wait_for(lambda: alive.try_spend(1, background=True, waiter="alive")[0], 10, 0.05, "the line to move")
    assert spent.cost == 1 and alive.line() == []
    # A dropped waiter that comes back joins the line again, at its end.
    assert alive.try_spend(1, background=True, waiter="later")[0] is None
    assert dead.try_spend(1, background=True, waiter="dead")[0] is None
    assert alive.line() == ["later", "dead"]


@pytest.mark.redis
def test_in_redis_a_request_that_gives_up_leaves_the_line(redis_url):
    one, other = two_processes_pacers(redis_url, Budget(2, 60.0))
    spend_at_once(one, 2)
    with pytest.raises(Throttled) as refused:  # the wait is longer than the caller's budget
        one.spend(1, background=True, timeout=0.5)
    assert refused.value.code == "MailboxBudget"
    assert one.line() == []  # it does not hold the line for those behind it


@pytest.mark.redis
def test_in_redis_an_interactive_request_is_not_held_by_background_waiters(redis_url):
    jobs, pane = two_processes_pacers(redis_url, Budget(4, 60.0, reserve=0.0))
    spend_at_once(jobs, 3)
    # One unit is free, and the first in line needs two: background work waits.
    assert jobs.try_spend(2, background=True, waiter="bulk")[0] is None
    assert jobs.try_spend(1, background=True, waiter="next")[0] is None
    assert jobs.try_spend(1, background=True, waiter="newcomer")[0] is None
    assert jobs.line() == ["bulk", "next", "newcomer"]
    # The pane does not queue behind them: it takes what is free at once.
    assert pane.try_spend(1, background=False)[0] is not None
    assert pane.used() == 4 and pane.line() == ["bulk", "next", "newcomer"]


@pytest.mark.redis
def test_in_redis_a_batch_first_in_line_takes_the_room_there_is_and_holds_one_unit_while_it_waits(redis_url):
    one, other = two_processes_pacers(redis_url, Budget(10, 0.3))
    spend_at_once(one, 10)
    refused, wait = one.try_spend(20, background=True, partial=True, waiter="batch")
    assert refused is None
    assert other.try_spend(1, background=True, waiter="single")[0] is None
    time.sleep(wait + 0.05)  # all ten have left the window
    # The batch waits only for its first unit, so only one is kept for it: the single
    # request behind it goes, and the batch then takes the rest.
    assert other.try_spend(1, background=True, waiter="single")[0].cost == 1
    assert one.try_spend(20, background=True, partial=True, waiter="batch")[0].cost == 9
    assert one.line() == [] and one.used() == 10


@pytest.mark.redis
@pytest.mark.parametrize("background", [False, True])
def test_in_redis_a_request_in_flight_longer_than_a_window_counts_until_a_window_after_its_answer(
    redis_url, background
):
    # Graph counts a request somewhere between its sending and its answer: one still going
    # after a whole window must not leave the count (the budget would be overrun).
    pacer = mailbox_pacer(
        f"{uuid.uuid4().hex}@contoso.com", Budget(1, 0.2), redis_url, redis_client=Redis.from_url(redis_url)
    )
    slow, _ = pacer.try_spend(1, background=background)
    assert slow is not None
    ask = {"waiter": "next"} if background else {}  # one request's tries keep one place in line
    time.sleep(0.5)  # in flight for more than two windows
    refused, wait = pacer.try_spend(1, background=background, **ask)
    assert refused is None and wait >= 0.2  # at least a window: it has not been answered yet
    slow.settle()  # answered now: it counts for one more window
    assert pacer.try_spend(1, background=background, **ask)[0] is None
    time.sleep(0.3)
    assert pacer.try_spend(1, background=background, **ask)[0] is not None


def test_a_429_holds_the_mailboxs_jobs_back_for_its_retry_after_so_the_next_request_is_not_sent(emulator):
    # Graph refuses the mailbox for 30 s: a job's request cannot wait that long (Throttled),
    # and the job's next one is refused by the pacer at once, without meeting a 429 of its
    # own. The pane's requests are not held by it: they still go.
    emulator.reset()
    ids = message_ids(emulator, 2)
    token = emulator.app_token(CONTOSO)
    budget = Budget(977, 60.0)  # a pacer of this test's own (one per mailbox and budget)
    graph = GraphClient(
        emulator.graph_url, lambda: token, emulator.session, user=ADELE_OID, budget=budget, max_wait_s=1
    )
    emulator.fault(path=MESSAGE_PATH, method="GET", kind="429", retry_after=30, count=1)
    emulator.clear_requests()
    try:
        with background():
            with pytest.raises(Throttled) as graph_said:
                graph.get_message(ids[0], select=("id",))
            assert graph_said.value.retry_after >= 29
            with pytest.raises(Throttled) as pacer_said:
                graph.get_message(ids[1], select=("id",))
        assert pacer_said.value.code == "MailboxBudget" and pacer_said.value.retry_after >= 20
        assert [r["status"] for r in emulator.requests(path=MESSAGE_PATH)] == [429]  # the second never left
        assert graph.get_message(ids[1], select=("id",))["id"] == ids[1]  # the pane's goes
    finally:
        emulator.reset()


def test_a_hold_stops_background_requests_until_it_passes_and_a_longer_one_wins():
    clock = [0.0]
    pacer = LocalPacer(f"{uuid.uuid4().hex}@contoso.com", Budget(100, 600.0), clock=lambda: clock[0])
    pacer.hold(5.0)
    pacer.hold(2.0)  # a shorter Retry-After does not shorten the hold
    assert pacer.try_spend(1, background=True) == (None, 5.0)
    assert pacer.try_spend(1, background=False)[0] is not None  # the pane is not held
    clock[0] = 5.0
    assert pacer.try_spend(1, background=True)[0] is not None


@pytest.mark.redis
def test_in_redis_a_hold_from_one_process_stops_the_others_jobs_and_keeps_the_line(redis_url):
    one, other = two_processes_pacers(redis_url, Budget(10, 60.0))
    one.hold(0.4)  # one process met a 429: the budget has room, yet no job's request goes
    assert other.try_spend(1, background=False)[0] is not None  # the pane's does
    refused, wait = other.try_spend(1, background=True, waiter="queued")
    assert refused is None and 0 < wait <= 0.4 and other.line() == ["queued"]
    time.sleep(wait + 0.05)
    spent, _ = other.try_spend(1, background=True, waiter="queued")
    assert spent is not None and other.line() == []
