"""The error `mirror-stage up` stops with, saying why."""


class StackError(RuntimeError):
    """The stack cannot start as configured."""
