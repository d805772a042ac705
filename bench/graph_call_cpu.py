"""CPU of one Graph request in this process, layer by layer, against the emulator.

    PYTHONPATH=. python -m bench.graph_call_cpu [--calls N] [--rounds R]

A message read (`GraphEndpoint._call` GET with the pane's `$select`, JSON decoded) and a
categories PATCH through the whole stack (endpoint, transport with its pacer and slots,
wire), then the same GET through `Transport.request` and `WireClient.request` alone. It
prints this thread's CPU per call (waiting on the emulator, a separate process, costs
none): the median and every round. Run it beside another checkout's, alternating, to
compare: a shared machine moves the figures by a quarter run to run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.b1_pane_api import message
from bench.stack import ADELE, emulator
from server.graph import GraphClient
from server.graph.messages import MESSAGE_FIELDS
from server.graph.pacer import Budget
from server.tls import http_session

WARMUP = 30


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-graph-cpu-") as tmp, emulator(Path(tmp) / "emulator") as emu:
        ids = emu.admin("POST", "messages/bulk", json={"upn": ADELE, "folder": "inbox", "messages": [message(0)]})
        message_id = ids.json()["ids"][0]
        token = emu.graph_token(ADELE)
        session = http_session({"CA_BUNDLE": emu.ca_path, "INSTANCE_DIR": tmp})
        # A budget no loop of this size spends: the pacer's work is counted, never its waits.
        client = GraphClient(emu.graph_url, lambda: token, session, mailbox="bench", budget=Budget(limit=10**9))
        path = client._message_path(message_id, MESSAGE_FIELDS)
        item = client._item("messages", message_id)
        url = client._url(path)
        transport = client.transport
        headers = transport.headers()
        calls = {
            "endpoint GET": lambda: client._call("GET", path),
            "endpoint PATCH": lambda: client._call("PATCH", item, json_body={"categories": ["Bench"]}),
            "transport GET": lambda: transport.request("GET", url),
            "wire GET": lambda: transport.wire.request("GET", url, headers=headers),
        }
        figures: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(args.rounds):
            for name, call in calls.items():
                for _ in range(WARMUP):
                    call()
                started = time.thread_time()
                for _ in range(args.calls):
                    call()
                figures[name].append((time.thread_time() - started) * 1000 / args.calls)
    for name, values in figures.items():
        rounds = " ".join(f"{v:.3f}" for v in values)
        print(f"{name:15s} {statistics.median(values):.3f} ms CPU per call (rounds: {rounds})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
