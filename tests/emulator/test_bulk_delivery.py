"""Bulk delivery from a template: how benchmarks fill a mailbox with 100,000 messages
without sending each one over HTTP."""

ADELE = "adele.vance@contoso.com"


def test_count_copies_of_a_template_arrive_numbered_and_spaced_in_time(emulator):
    answer = emulator.admin(
        "POST",
        "messages/bulk",
        json={
            "upn": ADELE,
            "folder": "inbox",
            "count": 3,
            "start": "2026-03-01T08:00:00Z",
            "step_s": 90,
            "template": {
                "subject": "Generated {n}",
                "internetMessageId": "<gen-{n}@example.org>",
                "from": {"emailAddress": {"address": "sender{n}@example.org"}},
            },
        },
    )
    assert answer.status_code == 201 and answer.json()["count"] == 3

    token = emulator.graph_token(ADELE)
    found = emulator.graph(
        "GET",
        "/me/mailFolders/inbox/messages",
        token,
        params={
            "$filter": "receivedDateTime ge 2026-03-01T08:00:00Z and receivedDateTime le 2026-03-01T08:03:00Z",
            "$orderby": "receivedDateTime asc",
            "$select": "subject,receivedDateTime,internetMessageId,from",
        },
    ).json()["value"]
    assert [(m["subject"], m["receivedDateTime"], m["internetMessageId"]) for m in found] == [
        ("Generated 0", "2026-03-01T08:00:00Z", "<gen-0@example.org>"),
        ("Generated 1", "2026-03-01T08:01:30Z", "<gen-1@example.org>"),
        ("Generated 2", "2026-03-01T08:03:00Z", "<gen-2@example.org>"),
    ]
    assert found[2]["from"]["emailAddress"]["address"] == "sender2@example.org"


def test_a_bad_template_request_is_400(emulator):
    for body in ({"count": -1, "template": {}}, {"count": 2, "template": "x"}, {"count": "many", "template": {}}):
        response = emulator.session.post(
            f"{emulator.base_url}/_emulator/messages/bulk", timeout=10, json={"upn": ADELE, "folder": "inbox", **body}
        )
        assert response.status_code == 400, body
