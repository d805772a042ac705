"""The field-by-field rules of contact sync, on plain values."""

from __future__ import annotations

import pytest

from server.sync.contact_fields import (
    ContactFields,
    merge,
    new_outlook_contact,
    outlook_fields,
    outlook_patch,
    split_name,
)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Robbins, Lynne", ("Lynne", "Robbins")),
        ('"Robbins, Lynne"', ("Lynne", "Robbins")),
        ("'Lynne Robbins'", ("Lynne", "Robbins")),
        ("Lynne Robbins <lynne@northwind.example>", ("Lynne", "Robbins")),
        ("Ludwig van Beethoven", ("Ludwig", "van Beethoven")),
        ("  Cher  ", ("Cher", "")),
        ("lynne@northwind.example", ("", "")),
        ("", ("", "")),
    ],
)
def test_split_name(name, expected):
    assert split_name(name, "lynne@northwind.example") == expected


def test_new_outlook_contact_keeps_the_address_as_typed():
    contact = new_outlook_contact("Jan@Bücher.example", "Novák, Jan")
    assert contact["givenName"] == "Jan" and contact["surname"] == "Novák"
    assert contact["displayName"] == "Jan Novák"
    assert contact["emailAddresses"] == [{"address": "Jan@Bücher.example", "name": "Jan Novák"}]


def fields(**values) -> ContactFields:
    return ContactFields(
        **{"first_name": "Ann", "last_name": "Lee", "job_title": "Buyer", "emails": ["ann@example.org"], **values}
    )


def snapshot(agreed: ContactFields, outlook_emails=None) -> dict:
    return {
        "fields": agreed.as_dict(),
        "outlook_emails": agreed.emails[:3] if outlook_emails is None else outlook_emails,
    }


def test_a_change_on_one_side_wins_whatever_the_times():
    base = fields()
    result = merge(fields(job_title="Head buyer"), base, snapshot(base), outlook_newer=False)
    assert result.merged.job_title == "Head buyer" and result.crm_changes == ["job_title"]
    result = merge(base, fields(mobile_phone="+1 555"), snapshot(base), outlook_newer=True)
    assert result.merged.mobile_phone == "+1 555" and result.outlook_changes == ["mobile_phone"]


def test_both_changed_goes_to_the_later_side_and_is_reported():
    base = fields()
    outlook, crm = fields(job_title="From Outlook"), fields(job_title="From CRM")
    assert merge(outlook, crm, snapshot(base), outlook_newer=True).merged.job_title == "From Outlook"
    result = merge(outlook, crm, snapshot(base), outlook_newer=False)
    assert result.merged.job_title == "From CRM" and result.conflicts == ["job_title"]


def test_emptied_field_is_emptied_only_when_the_other_side_kept_it():
    base = fields()
    assert merge(fields(job_title=""), base, snapshot(base), outlook_newer=False).merged.job_title == ""
    # The CRM changed it too: its value stays, even though Outlook's change is later.
    merged = merge(fields(job_title=""), fields(job_title="Chief"), snapshot(base), outlook_newer=True).merged
    assert merged.job_title == "Chief"


def test_without_a_snapshot_a_value_beats_an_empty_field():
    result = merge(
        fields(job_title="", mobile_phone="+1 555"),
        fields(job_title="Buyer", mobile_phone=""),
        None,
        outlook_newer=True,
    )
    assert (result.merged.job_title, result.merged.mobile_phone) == ("Buyer", "+1 555")
    assert result.conflicts == []


def test_company_names_compare_ignoring_case_and_spacing():
    base = fields(company="Northwind Traders")
    result = merge(fields(company="northwind  TRADERS"), base, snapshot(base), outlook_newer=True)
    assert result.crm_changes == [] and result.outlook_changes == []


def test_addresses_merge_additions_and_removals_from_both_sides():
    base = fields(emails=["a@x.example", "b@x.example"])
    outlook = fields(emails=["a@x.example", "b@x.example", "c@x.example"])  # Outlook added c
    crm = fields(emails=["b@x.example"])  # the CRM removed a
    merged = merge(outlook, crm, snapshot(base), outlook_newer=False).merged
    assert merged.emails == ["b@x.example", "c@x.example"]


def test_addresses_beyond_outlooks_three_are_not_lost():
    four = ["a@x.example", "b@x.example", "c@x.example", "d@x.example"]
    base = fields(emails=four)
    result = merge(fields(emails=four[:3]), fields(emails=four), snapshot(base), outlook_newer=True)
    assert result.merged.emails == four
    assert result.crm_changes == [] and result.outlook_changes == []


def test_outlook_patch_keeps_other_business_phones_and_address_names():
    contact = {
        "id": "x",
        "givenName": "Ann",
        "surname": "Lee",
        "displayName": "Ann Lee",
        "businessPhones": ["+1 111", "+1 222"],
        "emailAddresses": [{"address": "Ann@Example.org", "name": "Ann (work)"}],
    }
    wanted = outlook_fields(contact)
    wanted.business_phone = "+1 999"
    wanted.emails = ["ann@example.org", "ann.lee@example.org"]
    patch = outlook_patch(contact, wanted)
    assert patch["businessPhones"] == ["+1 999", "+1 222"]
    assert patch["emailAddresses"] == [
        {"address": "Ann@Example.org", "name": "Ann (work)"},
        {"address": "ann.lee@example.org", "name": "Ann Lee"},
    ]
    assert set(patch) == {"businessPhones", "emailAddresses"}
