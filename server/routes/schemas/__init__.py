"""The API's marshmallow schemas, one module per family of resources; the route
modules declare their bodies, arguments and answers with them."""
