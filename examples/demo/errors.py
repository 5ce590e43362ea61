"""The demo's one error type for mistakes the user can fix."""


class UsageError(Exception):
    """A bad option or a busy port: the CLI prints it as one line and exits with status 2."""
