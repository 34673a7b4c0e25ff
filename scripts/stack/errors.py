"""The harness's one error type."""


class StackError(RuntimeError):
    """The stack cannot start or a service is unhealthy; the message is one line."""
