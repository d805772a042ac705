"""The OData subset the emulated Graph understands, tested on the parser directly (no server)."""

import pytest
from werkzeug.datastructures import Headers, MultiDict

from emulator import odata
from emulator.graph.routing import GraphRequest, route, run

MESSAGE = {
    "subject": "Quote for Northwind",
    "isRead": False,
    "importance": "high",
    "receivedDateTime": "2026-11-09T15:00:00Z",
    "from": {"emailAddress": {"name": "Lynne", "address": "Lynne.Robbins@Northwind.example"}},
    "toRecipients": [{"emailAddress": {"name": "Adele", "address": "adele.vance@contoso.com"}}],
    "categories": ["Sync to CRM", "Red category"],
    "singleValueExtendedProperties": [
        {"id": "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name Color", "value": "Light green"},
        {"id": "Integer {66f5a359-4659-4830-9070-00047ec6ac6e} Name Pallete", "value": "12"},
    ],
}
KNOWN = {k.lower(): k for k in MESSAGE}


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("subject eq 'quote for northwind'", True),
        ("subject ne 'Quote for Northwind'", False),
        ("isRead eq false and importance eq 'high'", True),
        ("isRead eq true or importance eq 'low'", False),
        ("not (isRead eq true)", True),
        ("not isRead", True),
        ("receivedDateTime ge 2026-11-09T00:00:00Z and receivedDateTime lt 2026-11-10", True),
        ("receivedDateTime gt 2026-11-09T15:00:00.0000000Z", False),
        ("from/emailAddress/address eq 'lynne.robbins@northwind.example'", True),
        ("startswith(subject,'QUOTE') and contains(subject, 'north') and endswith(subject,'wind')", True),
        ("toRecipients/any(r:r/emailAddress/address eq 'ADELE.VANCE@contoso.com')", True),
        ("toRecipients/any(r: r/emailAddress/address eq 'nobody@contoso.com')", False),
        ("categories/any(c:c eq 'red category')", True),
        ("categories/all(c:c ne 'Blue category')", True),
        ("categories/any()", True),
        (
            "singleValueExtendedProperties/Any(ep: ep/id eq 'String {66F5A359-4659-4830-9070-00047EC6AC6E} Name Color'"
            " and ep/value eq 'light green')",
            True,
        ),
        (
            "singleValueExtendedProperties/any(ep:ep/Id eq 'String {66f5a359-4659-4830-9070-00047ec6ac6e} Name Color'"
            " and contains(ep/Value, 'green'))",
            True,
        ),
        (
            "singleValueExtendedProperties/any(ep:ep/id eq 'Integer {66f5a359-4659-4830-9070-00047ec6ac6e} Name Pallete'"
            " and cast(ep/value, Edm.Int32) ge 12)",
            True,
        ),
        ("subject eq 'It''s'", False),
    ],
)
def test_filter_expressions(expression, expected):
    assert odata.parse_filter(expression, "message", KNOWN)(MESSAGE) is expected


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "subject eq",
        "subject eq 'x' and",
        "(subject eq 'x'",
        "subject eq 'x')",
        "subject xx 'x'",
        "nosuch eq 1",
        "frobnicate(subject, 'x')",
        "subject eq 'unterminated",
        "categories/any(c c eq 'x')",
        "cast(subject, Edm.Nothing) eq 1",
        "receivedDateTime ge 2026-13-45T99:00:00Z",
        "eq eq eq",
        "receivedDateTime ge '2026-11-01T00:00:00Z'",
        "(" * 500 + "isRead" + ")" * 500,
        "not " * 500 + "isRead",
    ],
)
def test_malformed_filters_raise(expression):
    with pytest.raises(odata.ODataError):
        odata.parse_filter(expression, "message", KNOWN)


def test_filter_lists_the_properties_it_uses_in_order():
    flt = odata.parse_filter(
        "receivedDateTime ge 2026-01-01 and from/emailAddress/address eq 'x' and categories/any(c:c eq 'y')",
        "message",
        KNOWN,
    )
    assert flt.properties == ["receivedDateTime", "from", "categories"]


def test_select_orderby_expand_parsing():
    assert odata.parse_select("Subject, from", "message", KNOWN) == ["subject", "from"]
    with pytest.raises(odata.ODataError):
        odata.parse_select("subject,,from", "message", KNOWN)
    assert odata.parse_orderby("receivedDateTime desc, subject", "message", KNOWN) == [
        ("receivedDateTime", True),
        ("subject", False),
    ]
    items = odata.parse_expand(
        "singleValueExtendedProperties($filter=id eq 'a;b' or id eq 'c'),attachments($select=name,size)"
    )
    assert [(i.name, i.filter, i.select) for i in items] == [
        ("singleValueExtendedProperties", "id eq 'a;b' or id eq 'c'", None),
        ("attachments", None, "name,size"),
    ]
    with pytest.raises(odata.ODataError):
        odata.parse_expand("attachments($top=1)")


def test_sort_puts_missing_values_last_and_is_stable():
    rows = [{"d": "2026-01-02T00:00:00Z"}, {"d": None}, {"d": "2026-01-03T00:00:00Z"}, {"d": "2026-01-01T00:00:00Z"}]
    ordered = odata.sort_items(rows, [("d", True)], lambda r, p: r[p])
    assert [r["d"] for r in ordered] == ["2026-01-03T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z", None]


def test_an_unexpected_failure_is_graphs_500_body_not_a_traceback(tmp_path):
    @route("GET", "/_test/explode")
    def explode(req):
        raise RuntimeError("secret internals")

    req = GraphRequest(method="GET", path="/_test/explode", args=MultiDict(), headers=Headers(), body=b"", state=None)
    resp = run(req)
    assert resp.status == 500
    assert resp.body["error"]["code"] == "generalException"
    assert "secret" not in str(resp.body) and "Traceback" not in str(resp.body)
