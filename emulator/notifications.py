"""Webhook delivery for subscriptions: validation handshake, change and lifecycle notifications.

Notifications go out from one background thread, in the order they were raised,
like Graph's: a POST of {"value": [...]} with JSON, retried a few times on
failure. The backend may be plain http on localhost, and its environment's
REQUESTS_CA_BUNDLE must not decide whom we trust, so the session ignores the
environment.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from datetime import UTC
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
log = logging.getLogger("emulator.notifications")

VALIDATION_TIMEOUT_S = 10
DELIVERY_TIMEOUT_S = 10
RETRY_DELAYS_S = (0.5, 2, 5)


def graph_time(dt) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def new_session() -> requests.Session:
    """A session that ignores proxy/CA environment variables and does not verify TLS:
    the emulator cannot know which CA a local backend's certificate chains to."""
    session = requests.Session()
    session.trust_env = False
    session.verify = False
    return session


def with_query(url: str, **params) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def validate_endpoint(
    url: str, session: requests.Session | None = None, timeout: float = VALIDATION_TIMEOUT_S
) -> tuple[bool, str]:
    """Run Graph's validation handshake against `url`.

    POSTs `url?validationToken=<token>` (text/plain, empty body) and expects a 200
    text/plain answer whose body is the token, within `timeout` seconds, as the
    webhook documentation requires. Returns (ok, reason).
    """
    session = session or new_session()
    token = "Validation: Testing client application reachability for subscription Request-Id: " + secrets.token_hex(16)
    try:
        resp = session.post(
            with_query(url, validationToken=token),
            data=b"",
            headers={"Content-Type": "text/plain; charset=utf-8"},
            timeout=timeout,
        )
    except requests.Timeout:
        return False, "the endpoint did not answer within 10 seconds"
    except requests.RequestException as exc:
        return False, f"the endpoint could not be reached ({exc.__class__.__name__})"
    if resp.status_code != 200:
        return False, f"the endpoint answered HTTP {resp.status_code}"
    if not resp.headers.get("Content-Type", "").lower().startswith("text/plain"):
        return False, "the endpoint must answer with Content-Type text/plain"
    if resp.text != token:
        return False, "the endpoint did not echo the validation token"
    return True, "ok"


class Notifier:
    """Queues and delivers notifications for one store, in order, from a daemon thread."""

    def __init__(self, store):
        self.store = store
        self.session = new_session()
        self.queue: queue.Queue = queue.Queue()
        self.generation = 0
        self.thread = threading.Thread(target=self._run, name="graph-notifications", daemon=True)
        self.thread.start()

    def clear(self) -> None:
        """Drop everything not yet delivered (used by reset)."""
        self.generation += 1
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                return

    def change(self, sub, user, msg, change_type: str) -> None:
        item_id = msg.immutable_id if sub.immutable_ids else msg.rest_id
        resource = f"Users/{user.oid}/Messages/{item_id}"
        note = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": graph_time(sub.expiration),
            "changeType": change_type,
            "resource": resource,
            "resourceData": {
                "@odata.type": "#Microsoft.Graph.Message",
                "@odata.id": resource,
                "@odata.etag": f'W/"{msg.change_key}"',
                "id": item_id,
            },
            "clientState": sub.client_state,
            "tenantId": sub.tid,
        }
        self.queue.put((self.generation, sub.notification_url, {"value": [note]}, "change"))

    def lifecycle(self, sub, event: str) -> None:
        url = sub.lifecycle_url or sub.notification_url
        note = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": graph_time(sub.expiration),
            "tenantId": sub.tid,
            "clientState": sub.client_state,
            "lifecycleEvent": event,
        }
        self.queue.put((self.generation, url, {"value": [note]}, "lifecycle"))

    def wait_idle(self, timeout: float = 10) -> bool:
        """Block until the queue is drained (tests and tools)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.queue.unfinished_tasks == 0:
                return True
            time.sleep(0.02)
        return False

    def _run(self) -> None:
        while True:
            generation, url, payload, kind = self.queue.get()
            try:
                if generation == self.generation:
                    self._deliver(generation, url, payload, kind)
            except Exception:  # never let one bad endpoint stop delivery
                log.exception("notification delivery failed")
            finally:
                self.queue.task_done()

    def _deliver(self, generation, url, payload, kind) -> None:
        status, error = None, None
        for attempt, delay in enumerate((0, *RETRY_DELAYS_S)):  # noqa: B007 (attempt is logged after the loop)
            if delay:
                time.sleep(delay)
            if generation != self.generation:
                return
            try:
                resp = self.session.post(url, json=payload, timeout=DELIVERY_TIMEOUT_S)
                status, error = resp.status_code, None
                if resp.status_code < 500:  # delivered, or refused on purpose: no retry
                    break
            except requests.RequestException as exc:
                status, error = None, exc.__class__.__name__
        with self.store.lock:
            self.store.notification_log.append(
                {
                    "kind": kind,
                    "url": url,
                    "payload": payload,
                    "status": status,
                    "error": error,
                    "attempts": attempt + 1,
                    "ts": time.time(),
                }
            )
            if kind == "change" and (status is None or status >= 500):
                # Like Graph: what could not be delivered is announced as "missed".
                sub = self.store.subscriptions.get(payload["value"][0]["subscriptionId"])
                if sub is not None and sub.lifecycle_url:
                    self.lifecycle(sub, "missed")
