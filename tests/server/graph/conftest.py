"""Graph's faults and refused tokens run on the fault backend (live for webhooks, with the
in-process job queue), whose short Graph timeouts make a hanging Graph cost seconds, not
minutes, per fault."""
import pytest


@pytest.fixture(scope="session")
def app(fault_app):
    return fault_app
