"""The CRM domain: models and the operations on them. No Flask, no Graph.

- models        Base and every table (Tenant, User, Company, Contact, ContactEmail,
                Email, MailboxItem, EmailLink, OutlookContactLink, Case, Task, Note,
                SharingRule, ConversationLink, SyncCursor, Subscription)
- addresses     normalise_address(raw) -> str | None; matches_never_sync(address, entries)
- matching      match_addresses(session, tenant_id, addresses) -> {address: [MatchedContact]}
- filing        file_email(...) -> (Email, MailboxItem, created); link_email(...);
                set_item_state(...)
- sanitise      sanitise_html(html); preview_text(text); text_to_html(text)
- tenants       get_or_create_tenant(session, tid, ...); get_or_create_user(session, tid, oid, upn, name)
- upsert        insert_ignore / upsert: INSERT .. ON CONFLICT on SQLite and PostgreSQL

Every lookup takes tenant_id: no query crosses tenants.
"""
