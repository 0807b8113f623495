"""Exceptions raised by mirror_schema when a value cannot become part of a contract."""

from __future__ import annotations


class SchemaError(ValueError):
    """Base class: a value that cannot be used in a subject, stream or message."""


class InvalidHostId(SchemaError):  # noqa: N818 - the contract names it so
    """A host id that does not match the host-id rule; carries the offending value."""

    def __init__(self, value: object, rule: str) -> None:
        self.value = value
        self.rule = rule
        super().__init__(
            f"invalid host id {value!r}: a host id must match {rule} (lowercase ASCII letters, "
            "digits, '_' and '-', starting with a letter or digit, at most 63 characters); "
            "derive one from a hostname with mirror_schema.host_id_from_hostname()"
        )


class InvalidCommandId(SchemaError):  # noqa: N818 - the contract names it so
    """A command id that cannot be used as a subject token; carries the offending value."""

    def __init__(self, value: object, rule: str) -> None:
        self.value = value
        self.rule = rule
        super().__init__(
            f"invalid command id {value!r}: a command id must match {rule} (ASCII letters, "
            "digits, '_' and '-', 1 to 64 characters, e.g. a UUID) to be used in a subject"
        )


class InvalidSubject(SchemaError):  # noqa: N818 - the contract names it so
    """A subject that is not one this package builds (or not a concrete subject at all)."""

    def __init__(self, subject: object, reason: str) -> None:
        self.subject = subject
        self.reason = reason
        super().__init__(f"invalid subject {subject!r}: {reason}")
