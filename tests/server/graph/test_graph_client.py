"""The Graph client against the emulated Graph over HTTPS: ids, retries, $batch, delta,
categories, contacts. Counts come from the emulator's request log."""

import math
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from server.graph import (
    BatchRequest,
    GraphClient,
    GraphError,
    GraphTimeout,
    NotFound,
    Throttled,
    Unauthorized,
    Unavailable,
    merge_categories,
    properties,
)
from server.graph.batch import _batch_chunks
from server.graph.errors import Conflict, DeltaExpired, PreconditionFailed, parse_retry_after
from server.graph.transport import merge_prefer
from server.graph.wire import wire_for
from server.tls import http_session
from tests.support.identities import ADELE_OID

ADELE = "adele.vance@contoso.com"
CONTOSO = "8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11"
BATCH_PATH = r"^/v1\.0/\$batch$"
MESSAGE_PATH = r"^/v1\.0/me/messages/[^/]+$"


@pytest.fixture
def graph(emulator, tmp_path):
    """A client for Adele's mailbox, and every response its session received."""
    emulator.reset()
    session = http_session({"CA_BUNDLE": emulator.ca_path, "INSTANCE_DIR": str(tmp_path)})
    received = []
    wire_for(session).hooks.append(received.append)
    token = emulator.graph_token(ADELE)

    def client(max_wait_s=10, timeout=(5, 10), user=None, token_provider=None):
        return GraphClient(
            emulator.graph_url,
            token_provider or (lambda: token),
            session,
            user=user,
            max_wait_s=max_wait_s,
            timeout=timeout,
        )

    yield SimpleNamespace(client=client(), make=client, received=received, token=token)
    emulator.clear_faults()


def record_sleeps(client) -> list[float]:
    """The waits the client's transport makes between attempts, as it makes them (it
    still sleeps): what the retry policy decided, asserted instead of wall-clock time,
    which a shared machine stretches."""
    sleeps: list[float] = []
    sleep = client.transport.sleep

    def recorded(seconds: float) -> None:
        sleeps.append(seconds)
        sleep(seconds)

    client.transport.sleep = recorded
    return sleeps


def inbox_ids(client, n=None):
    ids = [m["id"] for m in client.list_messages("inbox", select=("id",))]
    return ids if n is None else ids[:n]


def logged(emulator, path, method=None):
    return [r for r in emulator.requests(path=path, method=method) if not r["in_batch"]]


# -- messages ---------------------------------------------------------------------------


def test_unsynced_message_has_no_crm_state(graph):
    message = graph.client.get_message(inbox_ids(graph.client, 1)[0])
    assert message["crm"] == {"state": None, "email_id": None}
    assert message["subject"] is not None and "internetMessageId" in message


def test_marking_a_message_is_one_patch_that_keeps_the_users_categories(graph, emulator):
    message_id = inbox_ids(graph.client, 1)[0]
    graph.client.update_message(message_id, categories=["Red category", properties.CATEGORY_SYNC])
    emulator.clear_requests()

    current = graph.client.get_message(message_id)["categories"]
    new = merge_categories(current, add=[properties.CATEGORY_SYNCED], remove=[properties.CATEGORY_SYNC])
    graph.client.update_message(
        message_id, categories=new, properties={properties.SYNC_STATE: "synced", properties.EMAIL_ID: "42"}
    )
    assert len(logged(emulator, MESSAGE_PATH, "PATCH")) == 1

    message = graph.client.get_message(message_id)
    assert message["crm"] == {"state": "synced", "email_id": "42"}
    assert message["categories"] == ["Red category", properties.CATEGORY_SYNCED]


def test_a_conditional_mark_is_refused_once_the_message_changed(graph, emulator):
    message_id = inbox_ids(graph.client, 1)[0]
    read = graph.client.get_message(message_id)
    etag = read["@odata.etag"]
    graph.client.update_message(message_id, categories=["Red category"])  # Outlook, meanwhile

    with pytest.raises(PreconditionFailed) as refused:
        graph.client.update_message(message_id, categories=[properties.CATEGORY_SYNCED], if_match=etag)

    assert refused.value.status == 412 and refused.value.code == "ErrorIrresolvableConflict"
    assert isinstance(refused.value, Conflict)  # what callers of a plain write already handle
    fresh = graph.client.get_message(message_id)
    assert fresh["categories"] == ["Red category"]
    graph.client.update_message(
        message_id, categories=[*fresh["categories"], properties.CATEGORY_SYNCED], if_match=fresh["@odata.etag"]
    )
    assert graph.client.get_message(message_id)["categories"] == ["Red category", properties.CATEGORY_SYNCED]


def test_every_request_asks_for_immutable_ids(graph, emulator):
    client = graph.client
    ids = inbox_ids(client, 3)
    client.get_message(ids[0])
    client.get_messages(ids)
    client.update_message(ids[0], properties={properties.SYNC_STATE: "pending"})
    client.ensure_categories()
    client.find_contacts("nobody@example.com")
    assert graph.received
    for response in graph.received:
        assert 'IdType="ImmutableId"' in response.request.headers["Prefer"], response.url
        assert 'IdType="ImmutableId"' in response.headers.get("Preference-Applied", ""), response.url

    # Without the preference Graph answers REST ids; we never see those.
    rest = emulator.graph("GET", "/me/mailFolders/inbox/messages?$select=id&$top=3", graph.token).json()
    assert {m["id"] for m in rest["value"]}.isdisjoint(ids)


def test_prefer_values_are_merged_into_one_header(graph, emulator):
    list(graph.client.list_messages("inbox", select=("id",), page_size=3))
    prefer = graph.received[0].request.headers["Prefer"]
    assert prefer == 'IdType="ImmutableId", odata.maxpagesize=3'


def test_unknown_message_is_not_found(graph):
    with pytest.raises(NotFound) as missing:
        graph.client.get_message("AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AnotThere=")
    assert missing.value.status == 404
    assert missing.value.code == "ErrorItemNotFound"
    assert missing.value.request_id


def test_rejected_token_is_unauthorized(graph):
    client = graph.make(token_provider=lambda: "not-a-token")
    with pytest.raises(Unauthorized) as refused:
        client.get_message("whatever")
    assert refused.value.status == 401


def test_list_messages_follows_next_links(graph, emulator):
    everything = [m["id"] for m in graph.client.list_messages("inbox", select=("id",), page_size=50)]
    emulator.clear_requests()
    paged = [m["id"] for m in graph.client.list_messages("inbox", select=("id",), page_size=4)]
    assert paged == everything
    assert len(logged(emulator, r"/messages$", "GET")) == math.ceil(len(everything) / 4)


def test_app_only_client_reads_a_users_mailbox(graph, emulator):
    client = graph.make(user=ADELE_OID, token_provider=lambda: emulator.app_token(CONTOSO))
    ids = inbox_ids(client)
    assert ids == inbox_ids(graph.client)
    assert all(r["path"].startswith(f"/v1.0/users/{ADELE_OID}") for r in emulator.requests(path="^/v1.0/users"))


def test_parallel_background_requests_stay_within_four_per_mailbox(graph, emulator):
    app_token = emulator.app_token(CONTOSO)
    client = graph.make(user=ADELE_OID, token_provider=lambda: app_token)
    ids = inbox_ids(client, 4) * 3
    emulator.clear_requests()
    emulator.fault(path=r"^/v1\.0/users/[^/]+/messages/", kind="latency", latency_ms=300)
    with ThreadPoolExecutor(max_workers=12) as pool:
        got = list(pool.map(lambda i: client.get_message(i)["id"], ids))
    assert got == ids
    rows = emulator.requests(path=r"^/v1\.0/users/[^/]+/messages/")
    assert len(rows) == 12 and all(r["status"] == 200 for r in rows)


# -- retry policy ------------------------------------------------------------------------


def test_429_then_success_honours_retry_after(graph, emulator):
    message_id = inbox_ids(graph.client, 1)[0]
    emulator.clear_requests()
    emulator.fault(path=MESSAGE_PATH, method="GET", kind="429", retry_after=1, count=1)
    sleeps = record_sleeps(graph.client)
    assert graph.client.get_message(message_id)["id"] == message_id
    assert sleeps == [1]  # Retry-After, not the backoff
    rows = logged(emulator, MESSAGE_PATH, "GET")
    assert [r["status"] for r in rows] == [429, 200]


def test_http_date_retry_after_is_understood():
    when = datetime.now(UTC) + timedelta(seconds=30)
    assert 28 <= parse_retry_after(format_datetime(when, usegmt=True)) <= 30
    assert parse_retry_after("7") == 7
    assert parse_retry_after("nonsense") is None


def test_long_retry_after_raises_throttled_without_waiting(graph, emulator):
    message_id = inbox_ids(graph.client, 1)[0]
    emulator.clear_requests()
    emulator.fault(path=MESSAGE_PATH, method="GET", kind="429", retry_after=30, count=1)
    sleeps = record_sleeps(graph.client)
    with pytest.raises(Throttled) as throttled:
        graph.client.get_message(message_id)
    assert sleeps == []
    assert throttled.value.retry_after == 30
    assert len(logged(emulator, MESSAGE_PATH, "GET")) == 1


def test_persistent_503_gives_unavailable_after_the_budget(graph, emulator):
    client = graph.make(max_wait_s=3.5)
    message_id = inbox_ids(client, 1)[0]
    emulator.clear_requests()
    emulator.fault(path=MESSAGE_PATH, method="GET", kind="503", retry_after=1)
    sleeps = record_sleeps(client)
    with pytest.raises(Unavailable) as unavailable:
        client.get_message(message_id)
    assert sleeps == [1, 1, 1]  # a fourth wait would overrun the 3.5 s budget
    assert unavailable.value.status == 503
    assert unavailable.value.retry_after is not None
    attempts = logged(emulator, MESSAGE_PATH, "GET")
    assert len(attempts) == 4 and all(r["status"] == 503 for r in attempts)


def test_graph_slower_than_the_timeout_gives_graph_timeout(graph, emulator):
    client = graph.make(max_wait_s=0, timeout=(2, 1))
    message_id = inbox_ids(client, 1)[0]
    emulator.fault(path=MESSAGE_PATH, method="GET", kind="latency", latency_ms=3000)
    sleeps = record_sleeps(client)
    with pytest.raises(GraphTimeout) as timed_out:
        client.get_message(message_id)
    assert sleeps == []  # no budget left for a retry
    assert timed_out.value.status == 504 and "within 1 s" in timed_out.value.message


def test_hanging_graph_ends_within_timeout_plus_budget(graph, emulator):
    client = graph.make(max_wait_s=2, timeout=(2, 1))
    message_id = inbox_ids(client, 1)[0]
    emulator.fault(path=MESSAGE_PATH, method="GET", kind="latency", latency_ms=5000)
    sleeps = record_sleeps(client)
    with pytest.raises(GraphTimeout) as timed_out:
        client.get_message(message_id)
    # Waits within the 2 s budget, and each attempt's read timeout at most the 1 s set:
    # the call ends within about timeout + budget, not after Graph's 5 s.
    assert sum(sleeps) <= 2
    assert "within 1 s" in timed_out.value.message
    assert len(sleeps) <= 2


def test_dropped_connection_is_retried_for_reads(graph, emulator):
    message_id = inbox_ids(graph.client, 1)[0]
    emulator.fault(path=MESSAGE_PATH, method="GET", kind="drop", count=1)
    assert graph.client.get_message(message_id)["id"] == message_id


def test_dropped_connection_is_not_retried_for_a_create(graph, emulator):
    emulator.clear_requests()
    emulator.fault(path=r"^/v1\.0/me/contacts$", method="POST", kind="drop", count=1)
    with pytest.raises(Unavailable):
        graph.client.create_contact({"givenName": "Once", "emailAddresses": [{"address": "once@example.com"}]})
    assert len(logged(emulator, r"^/v1\.0/me/contacts$", "POST")) == 1


def test_unreachable_graph_gives_unavailable_within_the_budget(graph, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    session = http_session({"CA_BUNDLE": None, "INSTANCE_DIR": str(tmp_path)})
    client = GraphClient(f"https://localhost:{port}/v1.0", lambda: "t", session, max_wait_s=1)
    sleeps = record_sleeps(client)
    with pytest.raises(Unavailable) as unavailable:
        client.get_message("x")
    assert sleeps and sum(sleeps) <= 1  # retried (it never left), within the 1 s budget
    assert unavailable.value.status == 503


def test_untrusted_certificate_fails_at_once(graph, emulator, tmp_path):
    session = http_session({"CA_BUNDLE": None, "INSTANCE_DIR": str(tmp_path)})
    client = GraphClient(emulator.graph_url, lambda: graph.token, session, max_wait_s=10)
    sleeps = record_sleeps(client)
    with pytest.raises(Unavailable) as refused:
        client.get_user()
    assert sleeps == []  # not transient: never retried
    assert refused.value.code == "TlsError" and "CA_BUNDLE" in refused.value.message


def test_the_signed_in_user(graph):
    me = graph.client.get_user()
    assert me["id"] == ADELE_OID
    assert me["userPrincipalName"] == ADELE


# -- $batch ------------------------------------------------------------------------------


def test_batch_of_45_is_three_batch_calls(graph, emulator):
    ids = inbox_ids(graph.client)
    requests_ = [BatchRequest(str(n), "GET", f"/me/messages/{ids[n % len(ids)]}?$select=id") for n in range(45)]
    emulator.clear_requests()
    responses = graph.client.batch(requests_)
    assert [r.id for r in responses] == [str(n) for n in range(45)]
    assert all(r.status == 200 for r in responses)
    assert [r.body["id"] for r in responses] == [ids[n % len(ids)] for n in range(45)]
    assert len(logged(emulator, BATCH_PATH, "POST")) == 3


def test_throttled_request_inside_a_batch_is_retried_alone(graph, emulator):
    ids = inbox_ids(graph.client, 3)
    emulator.clear_requests()
    emulator.fault(path=rf"^/v1\.0/me/messages/{ids[1]}$", kind="429", retry_after=1, count=1)
    sleeps = record_sleeps(graph.client)
    messages = graph.client.get_messages(ids)
    assert sleeps == [1]
    assert [messages[i]["id"] for i in ids] == ids
    outer = logged(emulator, BATCH_PATH, "POST")
    assert len(outer) == 2
    inner = [r for r in emulator.requests() if r["in_batch"]]
    assert len(inner) == 4  # 3, then the throttled one again


def test_batch_throttled_beyond_the_budget_reports_retry_after(graph, emulator):
    ids = inbox_ids(graph.client, 2)
    emulator.fault(path=rf"^/v1\.0/me/messages/{ids[0]}$", kind="429", retry_after=60, count=1)
    sleeps = record_sleeps(graph.client)
    messages = graph.client.get_messages(ids)
    assert sleeps == []
    assert isinstance(messages[ids[0]], Throttled) and messages[ids[0]].retry_after == 60
    assert messages[ids[1]]["id"] == ids[1]


def test_get_messages_reports_each_failure_by_id(graph):
    good = inbox_ids(graph.client, 1)[0]
    bogus = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AnotThere="
    messages = graph.client.get_messages([good, bogus])
    assert messages[good]["crm"] == {"state": None, "email_id": None}
    assert isinstance(messages[bogus], NotFound)


def test_update_messages_is_batched(graph, emulator):
    ids = inbox_ids(graph.client, 3)
    emulator.clear_requests()
    result = graph.client.update_messages(
        {i: ([properties.CATEGORY_SYNCED], {properties.SYNC_STATE: "excluded"}) for i in ids}
    )
    assert result == {i: None for i in ids}
    assert len(logged(emulator, BATCH_PATH, "POST")) == 1
    assert not logged(emulator, MESSAGE_PATH, "PATCH")
    assert {m["crm"]["state"] for m in graph.client.get_messages(ids).values()} == {"excluded"}


def test_batch_dependencies_run_in_order(graph):
    message_id = inbox_ids(graph.client, 1)[0]
    responses = graph.client.batch(
        [
            BatchRequest(
                "mark", "PATCH", f"/me/messages/{message_id}", body={"categories": [properties.CATEGORY_DONT_SYNC]}
            ),
            BatchRequest("read", "GET", f"/me/messages/{message_id}?$select=categories", depends_on=["mark"]),
        ]
    )
    assert [r.status for r in responses] == [200, 200]
    assert responses[1].body["categories"] == [properties.CATEGORY_DONT_SYNC]


def test_dependent_of_a_throttled_request_is_retried_with_it(graph, emulator):
    message_id = inbox_ids(graph.client, 1)[0]
    emulator.fault(path=rf"^/v1\.0/me/messages/{message_id}$", method="PATCH", kind="429", retry_after=1, count=1)
    responses = graph.client.batch(
        [
            BatchRequest(
                "mark", "PATCH", f"/me/messages/{message_id}", body={"categories": [properties.CATEGORY_SYNCED]}
            ),
            BatchRequest("read", "GET", f"/me/messages/{message_id}?$select=categories", depends_on=["mark"]),
        ]
    )
    assert [r.status for r in responses] == [200, 200]
    assert responses[1].body["categories"] == [properties.CATEGORY_SYNCED]


def test_dependency_chains_stay_in_one_batch():
    requests_ = [BatchRequest(str(n), "GET", "/me") for n in range(18)]
    requests_ += [
        BatchRequest("a", "GET", "/me"),
        BatchRequest("b", "GET", "/me", depends_on=["a"]),
        BatchRequest("c", "GET", "/me", depends_on=["b"]),
    ]
    chunks = _batch_chunks(requests_)
    assert [len(c) for c in chunks] == [18, 3]
    with pytest.raises(ValueError):
        _batch_chunks([BatchRequest("x", "GET", "/me", depends_on=["missing"])])


# -- delta -------------------------------------------------------------------------------


def test_delta_round_then_only_what_changed(graph, emulator):
    pages = list(graph.client.delta("inbox", select=("id", "subject"), page_size=4))
    assert all(p.next_link and not p.delta_link for p in pages[:-1])
    assert pages[-1].delta_link and not pages[-1].next_link
    first_round = [m["id"] for p in pages for m in p.messages]
    assert sorted(first_round) == sorted(inbox_ids(graph.client))

    emulator.deliver(
        ADELE,
        {
            "subject": "Delta newcomer",
            "from": {"emailAddress": {"address": "newcomer@example.com", "name": "Newcomer"}},
            "toRecipients": [{"emailAddress": {"address": ADELE}}],
            "body": {"contentType": "text", "content": "hi"},
        },
    )
    again = list(graph.client.delta("inbox", delta_link=pages[-1].delta_link, select=("id", "subject")))
    changed = [m for p in again for m in p.messages]
    assert [m["subject"] for m in changed] == ["Delta newcomer"]
    assert again[-1].delta_link


def test_delta_since_a_date_filters_received_mail(graph):
    future = datetime.now(UTC) + timedelta(days=365)
    pages = list(graph.client.delta("inbox", select=("id",), since=future))
    assert [m for p in pages for m in p.messages] == []
    assert pages[-1].delta_link


def test_expired_delta_link_raises_delta_expired(graph):
    pages = list(graph.client.delta("inbox", select=("id",)))
    link = pages[-1].delta_link
    stale = link.split("$deltatoken=")[0] + "$deltatoken=expired-token-123"
    with pytest.raises(DeltaExpired):
        list(graph.client.delta("inbox", delta_link=stale, select=("id",)))


def test_paging_links_to_other_hosts_are_refused(graph):
    with pytest.raises(GraphError, match="outside"):
        list(graph.client.delta("inbox", delta_link="https://evil.example/v1.0/me/messages/delta"))


# -- categories --------------------------------------------------------------------------


def test_ensure_categories_creates_ours_once(graph, emulator):
    emulator.clear_requests()
    graph.client.ensure_categories()
    created = logged(emulator, r"/outlook/masterCategories$", "POST")
    assert 1 <= len(created) <= 3
    emulator.clear_requests()
    graph.client.ensure_categories()
    assert [r["method"] for r in logged(emulator, r"/outlook/masterCategories")] == ["GET"]
    listed = emulator.graph("GET", "/me/outlook/masterCategories", graph.token).json()["value"]
    colors = {c["displayName"]: c["color"] for c in listed}
    for name in properties.CATEGORY_COLORS:
        assert name in colors
    assert "Red category" in colors or len(listed) >= 3


def test_merge_categories_keeps_the_users_own():
    assert merge_categories(["Red", "sync to crm", "Blue"], add=["Synced to CRM"], remove=["Sync to CRM"]) == [
        "Red",
        "Blue",
        "Synced to CRM",
    ]
    assert merge_categories(None, add=["Synced to CRM"]) == ["Synced to CRM"]
    assert merge_categories(["Synced to CRM"], add=["synced to crm"]) == ["Synced to CRM"]
    assert merge_categories(["A", "B"], remove=["b"]) == ["A"]


def test_prefer_merge_keeps_immutable_ids_first():
    assert merge_prefer("odata.maxpagesize=5", 'IdType="ImmutableId"') == 'IdType="ImmutableId", odata.maxpagesize=5'
    assert merge_prefer(None) == 'IdType="ImmutableId"'


# -- contacts ----------------------------------------------------------------------------


def test_contact_round_trip_with_crm_id(graph, emulator):
    address = "ann.o'brien@example.com"
    created = graph.client.create_contact(
        {"givenName": "Ann", "surname": "O'Brien", "emailAddresses": [{"address": address, "name": "Ann O'Brien"}]},
        properties={properties.CONTACT_ID: "crm-7"},
    )
    assert created["crm"] == {"contact_id": "crm-7"}

    found = graph.client.find_contacts(address)
    assert [c["id"] for c in found] == [created["id"]]
    assert found[0]["crm"]["contact_id"] == "crm-7"

    graph.client.update_contact(created["id"], {"jobTitle": "CTO"}, properties={properties.CONTACT_ID: "crm-8"})
    contact = graph.client.get_contact(created["id"])
    assert contact["jobTitle"] == "CTO"
    assert contact["crm"] == {"contact_id": "crm-8"}

    graph.client.delete_contact(created["id"])
    with pytest.raises(NotFound):
        graph.client.get_contact(created["id"])
    assert graph.client.find_contacts(address) == []


def test_find_contacts_many_is_one_batch(graph, emulator):
    graph.client.create_contact({"givenName": "Bo", "emailAddresses": [{"address": "bo@example.com"}]})
    emulator.clear_requests()
    found = graph.client.find_contacts_many(["bo@example.com", "nobody@example.com"])
    assert [c["givenName"] for c in found["bo@example.com"]] == ["Bo"]
    assert found["nobody@example.com"] == []
    assert len(logged(emulator, BATCH_PATH, "POST")) == 1


# -- ids ---------------------------------------------------------------------------------


def test_translate_rest_ids_to_immutable_ids(graph, emulator):
    rest = emulator.graph("GET", "/me/mailFolders/inbox/messages?$select=id&$top=2", graph.token).json()
    rest_ids = [m["id"] for m in rest["value"]]
    translated = graph.client.translate_ids(rest_ids)
    assert set(translated) == set(rest_ids)
    assert set(translated.values()) <= set(inbox_ids(graph.client))


# -- change notifications -----------------------------------------------------------------


@pytest.fixture
def webhook():
    """A tiny real HTTP endpoint answering Graph's validation handshake."""
    seen = []

    @Request.application
    def app(request):
        seen.append(request.args.get("validationToken") or request.get_data(as_text=True))
        if "validationToken" in request.args:
            return Response(request.args["validationToken"], content_type="text/plain")
        return Response(status=202)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://localhost:{server.server_port}/notify", seen=seen)
    server.shutdown()


def test_subscription_create_renew_delete(graph, webhook):
    client = graph.client
    expires = datetime.now(UTC) + timedelta(hours=1)
    subscription = client.create_subscription(
        client.messages_resource("inbox"),
        notification_url=webhook.url,
        lifecycle_notification_url=webhook.url + "/lifecycle",
        client_state="s3cret",
        expiration=expires,
    )
    assert subscription["id"]
    assert subscription["resource"].lower() == "me/mailfolders('inbox')/messages"
    assert any(s.startswith("Validation") for s in webhook.seen)

    later = expires + timedelta(hours=2)
    renewed = client.renew_subscription(subscription["id"], later)
    assert renewed["expirationDateTime"].startswith(later.strftime("%Y-%m-%dT%H:%M"))

    client.delete_subscription(subscription["id"])
    client.delete_subscription(subscription["id"])  # already gone: fine
