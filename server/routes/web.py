"""The CRM's web pages (a plain Blueprint: registered on the app, not in the OpenAPI)."""
from server.web import bp

__all__ = ["bp"]
