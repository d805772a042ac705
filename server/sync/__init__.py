"""Where Outlook meets the CRM: file a message, mark it, and describe it for the pane.

Everything here works on a `Mailbox` (one user's CRM identity plus a Graph client for
their mailbox), so the same functions serve the pane's requests (delegated, on
behalf of the user) and background jobs (app-only, on /users/{id}).
"""
