"""The CRM contact search behind the pane's "Link contact with CRM" dialog."""

from __future__ import annotations

from server.api import Blueprint
from server.auth import require_auth
from server.crm.addresses import display_address
from server.crm.contacts import search_contacts
from server.crm.outlook_links import is_linked_in_outlook
from server.routes.request_mailbox import current_mailbox
from server.routes.route_docs import SECURITY
from server.routes.schemas.contacts import SearchArgsSchema, SearchResultSchema

bp = Blueprint("contact_search", __name__, url_prefix="/api/v1", description="Finding CRM contacts from the pane")


@bp.get("/crm/contacts/search")
@require_auth
@bp.arguments(SearchArgsSchema, location="query")
@bp.response(200, SearchResultSchema)
@bp.doc(security=SECURITY)
def search(args):
    """Find CRM contacts by the start of a name, address or company (best 20)."""
    mailbox = current_mailbox()
    found = search_contacts(mailbox.session, mailbox.tenant_id, args["q"], args["limit"])
    linked = is_linked_in_outlook(mailbox.session, mailbox.tenant_id, [c.id for c in found])
    return {
        "contacts": [
            {
                "id": c.id,
                "name": c.name,
                "first_name": c.first_name,
                "last_name": c.last_name,
                "job_title": c.job_title,
                "emails": c.addresses,
                "display_emails": [display_address(a) for a in c.addresses],
                "url": mailbox.links.contact(c.id),
                "company": None
                if c.company is None
                else {"id": c.company.id, "name": c.company.name, "url": mailbox.links.company(c.company.id)},
                "linked_in_outlook": c.id in linked,
            }
            for c in found
        ]
    }
