"""The /_emulator/ admin API: the contract tests, scripts and benchmarks rely on."""

import jwt

CLIENT_ID = "6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13"
CONTOSO = "8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11"
FABRIKAM = "c4e1b7d2-9a6f-4b38-8e15-5d7a2f3c6b90"
FIXED_USERS = {
    "adele.vance@contoso.com": ("0b5e8f4a-7c21-4d96-a3e8-1f2b9c6d4e71", CONTOSO),
    "megan.bowen@contoso.com": ("3d9a7e1c-5b4f-4c82-b6a0-8e2f1d7c9b35", CONTOSO),
    "pat.kowalski@fabrikam.com": ("e7c3a9b1-2f5d-4a68-9b14-6c0e8d2f3a57", FABRIKAM),
}


def admin_url(emulator, path):
    return f"{emulator.base_url}/_emulator/{path}"


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def client_credentials(emulator):
    return emulator.session.post(
        f"{emulator.base_url}/{CONTOSO}/oauth2/v2.0/token",
        timeout=10,
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": "local-emulator-only",
            "scope": "https://graph.microsoft.com/.default",
        },
    )


def test_users_lists_the_fixed_identities(emulator):
    users = {u["upn"]: u for u in emulator.users()}
    for upn, (oid, tid) in FIXED_USERS.items():
        assert (users[upn]["oid"], users[upn]["tid"]) == (oid, tid)
        assert {"display_name", "mail"} <= users[upn].keys()


def test_pane_token_accepts_an_alias_and_options(emulator):
    token = emulator.pane_token("adele@contoso.com", ver=1, expires_in=120)
    claims = claims_of(token)
    assert claims["upn"] == "adele.vance@contoso.com"
    assert claims["aud"] == f"api://localhost:5000/{CLIENT_ID}"
    assert claims["exp"] - claims["nbf"] <= 120 + 300


def test_pane_token_for_an_unknown_user_is_404(emulator):
    response = emulator.session.get(admin_url(emulator, "pane-token"), params={"upn": "nobody@contoso.com"}, timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "UserNotFound"


def test_pane_token_with_a_bad_version_is_400(emulator):
    response = emulator.session.get(
        admin_url(emulator, "pane-token"), params={"upn": "adele.vance@contoso.com", "ver": "3"}, timeout=10
    )
    assert response.status_code == 400


def test_graph_token_scope_can_be_narrowed(emulator):
    claims = claims_of(emulator.graph_token("megan.bowen@contoso.com", scope="Mail.ReadWrite"))
    assert claims["scp"] == "Mail.ReadWrite"


def test_app_token_for_an_unknown_tenant_is_404(emulator):
    response = emulator.session.get(admin_url(emulator, "app-token"), params={"tid": "nope"}, timeout=10)
    assert response.status_code == 404


def test_request_log_records_token_requests_but_not_admin_calls(emulator):
    emulator.clear_requests()
    emulator.users()
    client_credentials(emulator)
    rows = emulator.requests()
    assert len(rows) == 1
    row = rows[0]
    assert (row["method"], row["path"], row["status"]) == ("POST", f"/{CONTOSO}/oauth2/v2.0/token", 200)
    assert {"seq", "ts", "query", "throttled", "duration_ms", "mailbox", "in_batch", "batch_id"} <= row.keys()
    assert row["in_batch"] is False and row["throttled"] is False


def test_request_log_records_graph_requests_with_query_and_mailbox(emulator):
    token = emulator.graph_token("adele.vance@contoso.com")
    emulator.clear_requests()
    emulator.graph("GET", "/users/Adele.Vance@contoso.com/messages", token, params={"$top": "2", "$select": "subject"})
    emulator.graph("GET", "/me/mailFolders/inbox", token)
    rows = emulator.requests()
    assert [r["path"] for r in rows[:2]] == [
        "/v1.0/users/Adele.Vance@contoso.com/messages",
        "/v1.0/me/mailFolders/inbox",
    ]
    assert "$top=2" in rows[0]["query"] and "$select=subject" in rows[0]["query"]
    assert rows[0]["mailbox"] == rows[1]["mailbox"] == "adele.vance@contoso.com"
    emulator.clear_requests()
    assert emulator.requests() == []


def test_request_log_tells_app_only_requests_from_a_users_own(emulator):
    """Background work (an app-only token) and the user's own requests (delegated), in a
    $batch too: what a benchmark needs to count one request's Graph calls."""
    delegated = emulator.graph_token("adele.vance@contoso.com")
    app_only = emulator.app_token("8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11")
    emulator.clear_requests()
    emulator.graph("GET", "/me/mailFolders/inbox", delegated)
    emulator.graph("GET", "/users/adele.vance@contoso.com/mailFolders/inbox", app_only)
    emulator.graph(
        "POST",
        "/$batch",
        app_only,
        json={"requests": [{"id": "1", "method": "GET", "url": "/users/adele.vance@contoso.com/mailFolders/inbox"}]},
    )
    rows = emulator.requests()
    assert [(r["in_batch"], r["app_only"]) for r in rows] == [
        (False, False),
        (False, True),
        (True, True),
        (False, True),
    ]


def test_faults_are_listed_and_cleared(emulator):
    rule_id = emulator.fault(path="/me", kind="503", count=3)
    listed = emulator.session.get(admin_url(emulator, "faults"), timeout=10).json()["faults"]
    assert [(f["id"], f["kind"], f["remaining"]) for f in listed] == [(rule_id, "503", 3)]
    emulator.clear_faults()
    assert emulator.session.get(admin_url(emulator, "faults"), timeout=10).json()["faults"] == []


def test_limits_answer_the_current_limits(emulator):
    assert emulator.limits(mailbox_concurrency=2) == {
        "mailbox_concurrency": 2,
        "mailbox_requests_per_window": None,
        "window_s": 600,
    }


def test_consent_replaces_an_apps_consent(emulator):
    answer = emulator.consent(FABRIKAM, client_id=CLIENT_ID, scopes=["User.Read"], roles=[])
    assert answer == {"scopes": ["User.Read"], "roles": []}
    claims = claims_of(emulator.graph_token("pat.kowalski@fabrikam.com"))
    assert claims["scp"] == "User.Read"
    assert "roles" not in claims_of(emulator.app_token(FABRIKAM))


def test_consent_for_an_unknown_tenant_is_404(emulator):
    response = emulator.session.post(admin_url(emulator, "consent"), json={"tid": "nope", "scopes": []}, timeout=10)
    assert response.status_code == 404


def test_messages_delivers_and_answers_graph_json(emulator):
    message = emulator.deliver(
        "megan.bowen@contoso.com",
        {
            "subject": "Quote for 40 licences",
            "from": {"emailAddress": {"name": "Ravi", "address": "ravi@example.com"}},
            "toRecipients": [{"emailAddress": {"address": "megan.bowen@contoso.com"}}],
            "body": {"contentType": "text", "content": "Hello"},
        },
    )
    assert message["id"] and message["subject"] == "Quote for 40 licences"


def test_messages_for_an_unknown_user_is_404(emulator):
    response = emulator.session.post(
        admin_url(emulator, "messages"), json={"upn": "x@nowhere", "message": {}}, timeout=10
    )
    assert response.status_code == 404


def test_reset_restores_consent_and_clears_log_faults_and_limits(emulator):
    emulator.consent(CONTOSO, scopes=[], roles=[])
    emulator.fault(path="/me", kind="503")
    emulator.limits(mailbox_concurrency=1)
    client_credentials(emulator)
    emulator.reset()
    assert emulator.requests() == []
    assert emulator.session.get(admin_url(emulator, "faults"), timeout=10).json()["faults"] == []
    assert emulator.limits()["mailbox_concurrency"] == 4
    assert "Mail.ReadWrite" in claims_of(emulator.graph_token("adele.vance@contoso.com"))["scp"]


def test_admin_errors_are_json(emulator):
    response = emulator.session.post(
        admin_url(emulator, "faults"), data="not json", timeout=10, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"


def test_unknown_limits_are_refused(emulator):
    response = emulator.session.post(admin_url(emulator, "limits"), json={"concurrency": 2}, timeout=10)
    assert response.status_code == 400
