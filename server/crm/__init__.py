"""The CRM domain: models and the operations on them. No Flask, no Graph.

- models         the tables, one module per aggregate (see its docstring)
- addresses      normalise_address(raw) -> str | None; normalise_domains; matches_never_sync;
                 display_address (the domain in Unicode, for people)
- folding        fold(text): the case- and accent-free form every search compares
- matching       match_addresses(session, tenant_id, addresses) -> {address: [MatchedContact]}
- audit          the audit log: record(session, tenant_id, actor, action, ...) in the caller's transaction
- contacts       contact records, their one owner: find, create, change, delete, list, search
- companies      company records: list, get, create, change, delete
- outlook_links  pairs of an Outlook contact and a CRM contact
- cases          cases, tasks, notes, sharing rules
- filing         file_email(...) -> (Email, MailboxItem, created); file_email_values(...) -> (FiledEmail,
                 ItemState, created), what a sync uses; link_email(...); set_item_state(...)
- keyset         keyset pagination (cursors, Page) for the REST API and the pages
- prefix_search  LIKE "starts with" with escaped wildcards; index-range prefix match
- record_errors  RecordNotFound, RecordInvalid, RecordConflict
- field_limits   the one set of field limits (and FieldTooLong) every way in enforces
- import_*       contacts from CSV or vCard: reading, batches, applying a batch
- exporting      contacts to CSV or vCard
- sanitise       sanitise_html(html); preview_text(text); text_to_html(text)
- tenants        get_or_create_tenant(session, tid, ...); get_or_create_user(session, tid, oid, upn, name);
                 tenant_domains(session, tenant); note_domains(session, user) after a user gains addresses
- upsert         insert_ignore / upsert: INSERT .. ON CONFLICT on SQLite and PostgreSQL

Every lookup takes tenant_id: no query crosses tenants.
"""
