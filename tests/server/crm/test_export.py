"""Export: CSV and vCard through the CLI, and export -> import into an empty tenant
gives the same contacts and companies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.crm.import_rows import defuse_formula, undo_defuse
from server.crm.models import Company, Contact
from server.crm.tenants import get_or_create_tenant
from tests.support.identities import CONTOSO, FABRIKAM
from tests.support.import_files import contacts_of

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "demo" / "contacts.csv"
EMPTY_TENANT = "3e9f1a2b-4c5d-4e6f-8a7b-9c0d1e2f3a4b"


def arrange_awkward_records(crm):
    """What a CRM holds beyond a tidy CSV: mobiles, a renamed display name, a contact
    with no name, one with no address, a deleted one, a company with no contacts."""
    get_or_create_tenant(crm, CONTOSO)
    acme = Company(tenant_id=CONTOSO, name="Acme, Inc.", domains=["acme.example", "xn--bcher-kva.de"])
    crm.add_all([acme, Company(tenant_id=CONTOSO, name="Lonely Company", domains=["lonely.example"])])
    crm.flush()
    people = [
        Contact(
            tenant_id=CONTOSO,
            first_name="Jana",
            last_name="Malá",
            display_name="Ing. Jana Malá",
            job_title='Ředitelka; "CEO"',
            business_phone="+420 1",
            mobile_phone="+420 2",
            company=acme,
        ),
        Contact(tenant_id=CONTOSO),
        Contact(tenant_id=CONTOSO, first_name="Bez", last_name="Adresy", display_name="Bez Adresy", company=acme),
        Contact(tenant_id=CONTOSO, first_name="Gone", last_name="Away", display_name="Gone Away"),
        Contact(
            tenant_id=CONTOSO,
            display_name='=HYPERLINK("https://evil.example","Click")',
            job_title="@SUM(1+1)",
            business_phone="+420 603 555 444",
            mobile_phone="-",
        ),
    ]
    crm.add_all(people)
    people[0].set_addresses(["jana@acme.example", "jana@bücher.de"])
    people[1].set_addresses(["nameless@acme.example"])
    people[3].set_addresses(["gone@acme.example"])
    people[3].soft_delete()
    people[4].set_addresses(["formula@evil.example"])
    crm.commit()


@pytest.mark.parametrize("fmt", ["csv", "vcf"])
def test_export_then_import_into_an_empty_tenant_gives_the_same_contacts_and_companies(
    cli, crm, snapshot, tmp_path, fmt
):
    assert cli("crm", "import", "--tenant", CONTOSO, DEMO).exit_code == 0
    arrange_awkward_records(crm)
    out = tmp_path / f"export.{fmt}"

    exported = cli("crm", "export", "--tenant", CONTOSO, "--format", fmt, out)
    assert exported.exit_code == 0, exported.output
    imported = cli("crm", "import", "--tenant", EMPTY_TENANT, out)
    assert imported.exit_code == 0, imported.output

    assert "0 errors" in imported.output
    original, copy = snapshot(CONTOSO), snapshot(EMPTY_TENANT)
    assert copy == original
    assert len(copy[0]) == 25 and ("Lonely Company", ("lonely.example",)) in copy[1]
    assert "Gone Away" not in out.read_text(encoding="utf-8")


def test_csv_export_is_readable_with_unicode_domains_and_several_addresses(cli, crm, tmp_path):
    arrange_awkward_records(crm)
    out = tmp_path / "export.csv"
    assert cli("crm", "export", "--tenant", CONTOSO, out).exit_code == 0

    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "first_name,last_name,display_name,email,company,job_title,phone,mobile_phone,company_domains"
    assert (
        'Jana,Malá,Ing. Jana Malá,jana@acme.example;jana@bücher.de,"Acme, Inc.","Ředitelka; ""CEO""",'
        "+420 1,+420 2,acme.example;bücher.de"
    ) in lines
    # Spreadsheets show these as text instead of running them; import takes the apostrophe off.
    assert (
        ',,"\'=HYPERLINK(""https://evil.example"",""Click"")",formula@evil.example,,\'@SUM(1+1),+420 603 555 444,\'-,'
    ) in lines


@pytest.mark.parametrize(
    "cell",
    [
        "=1+1",
        '=HYPERLINK("https://evil.example")',
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "+1+cmd|' /C calc'!A0",
        "-(1)+cmd|' /C calc'!A0",
        "@SUM(1+1)",
        "\t=1+1",
        "\r=1+1",
        "-",
        "+",
        "-1",
        "+420 1 =2",
        "+(1)*cmd",
    ],
)
def test_every_cell_a_spreadsheet_could_run_is_neutralised(cell):
    assert defuse_formula(cell) == "'" + cell
    assert undo_defuse(defuse_formula(cell)) == cell


@pytest.mark.parametrize("phone", ["+420 603 555 444", "+1 (425) 555-0110", "+44 20 7946 0958", "+49/30.123456"])
def test_a_phone_number_is_written_as_it_is(phone):
    assert defuse_formula(phone) == phone


def test_vcard_export_is_vcard_3(cli, crm, tmp_path):
    arrange_awkward_records(crm)
    out = tmp_path / "export.vcf"
    assert cli("crm", "export", "--tenant", CONTOSO, "--format", "vcf", out).exit_code == 0

    text = out.read_text(encoding="utf-8")
    assert text.count("BEGIN:VCARD") == 5 and text.count("VERSION:3.0") == 5
    assert "FN:Ing. Jana Malá" in text and "TEL;TYPE=CELL:+420 2" in text and "ORG:Acme\\, Inc." in text


def test_export_never_includes_another_tenants_contacts(cli, crm, tmp_path):
    assert cli("crm", "import", "--tenant", CONTOSO, DEMO).exit_code == 0
    out = tmp_path / "fabrikam.csv"
    result = cli("crm", "export", "--tenant", FABRIKAM, out)
    assert result.exit_code == 0
    assert out.read_text(encoding="utf-8").count("\n") == 1
    assert "Exported 0 contacts" in result.output


def test_demo_csv_imports_cleanly_and_knows_every_correspondent_of_the_demo_mailbox(cli, crm):
    demo = json.loads((ROOT / "emulator" / "fixtures" / "demo.json").read_text(encoding="utf-8"))
    own = {d for t in demo["tenants"] for d in t["domains"]}
    correspondents = set()
    for user in demo["users"]:
        for message in user.get("messages", []):
            people = [message.get("from")] + [
                r for k in ("toRecipients", "ccRecipients", "bccRecipients") for r in message.get(k) or []
            ]
            correspondents |= {p["emailAddress"]["address"].lower() for p in people if p}

    result = cli("crm", "import", "--tenant", CONTOSO, DEMO)

    assert result.exit_code == 0 and "0 errors" in result.output and not result.stderr
    known = {a for c in contacts_of(crm) for a in c.addresses}
    outside = {a for a in correspondents if a.rpartition("@")[2] not in own}
    assert outside and outside <= known
    assert any("ř" in c.last_name or "ń" in c.last_name for c in contacts_of(crm))
    assert any(len(c.addresses) > 1 for c in contacts_of(crm))
