"""Fixed identities of the emulator's test fixture (emulator/fixtures/test.json): the app,
the tenants, their users' addresses and object ids, the personal Microsoft account, and
who administers CRM Sync there: Adele holds the app role Crm.Admin, Pat is Fabrikam's
Global Administrator, Megan is neither. `add_person` adds a user with or without those
roles (gone at the next reset)."""

CLIENT_ID = "6f1c2a47-3b8e-4d2a-9c51-7e0b4f8a2d13"
CONTOSO = "8a3f6c2e-1d4b-4e7a-9f05-2b6c8d9e0a11"
FABRIKAM = "c4e1b7d2-9a6f-4b38-8e15-5d7a2f3c6b90"
ADELE = "adele.vance@contoso.com"
MEGAN = "megan.bowen@contoso.com"
PAT = "pat.kowalski@fabrikam.com"
ADELE_OID = "0b5e8f4a-7c21-4d96-a3e8-1f2b9c6d4e71"
MEGAN_OID = "3d9a7e1c-5b4f-4c82-b6a0-8e2f1d7c9b35"
PAT_OID = "e7c3a9b1-2f5d-4a68-9b14-6c0e8d2f3a57"
PERSONAL = "9188040d-6c67-4c5b-b112-36a304b66dad"  # Entra ID's tenant of personal Microsoft accounts
SAM = "sam.taylor@outlook.com"
SAM_OID = "00000000-0000-0000-5b4c-7d2e9f1a3c68"

ADMIN_ROLE = "Crm.Admin"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"


def add_person(emulator, upn: str, *, crm_admin: bool = False, global_admin: bool = False, **fields) -> dict:
    """Adds a user to the emulator's directory (the tenant of the UPN's domain), with the
    app role Crm.Admin and/or the Global Administrator role as asked, none by default."""
    return emulator.add_user(
        upn,
        app_roles=[ADMIN_ROLE] if crm_admin else [],
        directory_roles=[GLOBAL_ADMINISTRATOR] if global_admin else [],
        **fields,
    )
