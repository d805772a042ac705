"""B4's simulated pane users (locust), run by bench/b4_load.py as a subprocess.

B4_PLAN (a JSON file) holds each mailbox's pane token, its distinct message ids and
its shared message ids (the same internetMessageId in two mailboxes of one tenant).
Each user belongs to one mailbox, takes its own slice of the distinct ids, and opens
and syncs them, now and then a shared one, retrying 429/503/504 after retry_after
like the pane. Every sync answered 200 is appended to B4_SYNCED (JSON lines); every
status code is counted into B4_STATUS when locust quits.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import random
import time

from locust import HttpUser, between, events, task

PLAN = json.load(open(os.environ["B4_PLAN"]))
SYNCED = open(os.environ["B4_SYNCED"], "a")
STATUS: collections.Counter = collections.Counter()
NUMBERS = itertools.count()
RETRIES = 4


@events.quitting.add_listener
def _write_status(environment, **kwargs):
    SYNCED.close()
    with open(os.environ["B4_STATUS"], "w") as out:
        json.dump(dict(STATUS), out)


class PaneUser(HttpUser):
    wait_time = between(0.05, 0.3)

    def on_start(self):
        number = next(NUMBERS)
        mailboxes = PLAN["mailboxes"]
        self.mailbox = mailboxes[number % len(mailboxes)]
        peers = PLAN["users_per_mailbox"]
        mine = self.mailbox["distinct"][number // len(mailboxes) :: peers]
        self.queue = list(mine)
        self.headers = {"Authorization": f"Bearer {self.mailbox['token']}"}

    def call(self, method: str, path: str, name: str):
        for attempt in range(RETRIES):
            with self.client.request(method, path, headers=self.headers, name=name, catch_response=True) as response:
                STATUS[str(response.status_code)] += 1
                if response.status_code in (429, 503, 504) and attempt < RETRIES - 1:
                    response.success()  # the pane waits and retries; counted by status
                    wait = min(2.0, float((response.json().get("error") or {}).get("retry_after") or 1))
                    time.sleep(wait)
                    continue
                if response.status_code != 200:
                    response.failure(f"{response.status_code}")
                return response

    def open_and_sync(self, message_id: str, kind: str) -> None:
        opened = self.call("GET", f"/api/v1/messages/{message_id}", f"open {kind}")
        if opened is None or opened.status_code != 200:
            return
        synced = self.call("POST", f"/api/v1/messages/{message_id}/sync", f"sync {kind}")
        if synced is not None and synced.status_code == 200:
            body = synced.json()
            SYNCED.write(
                json.dumps(
                    {
                        "upn": self.mailbox["upn"],
                        "tid": self.mailbox["tid"],
                        "id": message_id,
                        "imid": body["internet_message_id"],
                        "state": body["state"],
                    }
                )
                + "\n"
            )
            SYNCED.flush()

    @task(4)
    def distinct(self):
        if self.queue:
            self.open_and_sync(self.queue.pop(0), "distinct")

    @task(1)
    def shared(self):
        if self.mailbox["shared"]:
            self.open_and_sync(random.choice(self.mailbox["shared"]), "shared")
