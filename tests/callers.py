"""Requests as the tests send them: in the admin's name, answered in the admin's inbox."""

from mirror_schema.identities import ADMIN, inbox_prefix, request_subject

# The inbox prefix of a test's NATS connection that sends requests to a service.
ADMIN_INBOX = inbox_prefix(ADMIN)


def as_admin(endpoint: str) -> str:
    """The request subject of `endpoint` in the admin's name (``<endpoint>.admin``)."""
    return request_subject(endpoint, ADMIN)
