"""Domain errors: each carries a message a person can act on."""

from __future__ import annotations

__all__ = [
    "StewardError",
    "NotFoundError",
    "InvalidInputError",
    "ConflictError",
    "UntrustedArtifactError",
    "IntegrityError",
    "WorkspaceBusyError",
]


class StewardError(Exception):
    """Base of every error a user can cause or fix; never shown with a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} {self.hint}"


class NotFoundError(StewardError):
    """A named model, version, dataset or event does not exist."""

    exit_code = 3


class InvalidInputError(StewardError):
    """A file, column, value or argument cannot be used as given."""

    exit_code = 2


class ConflictError(StewardError):
    """The request clashes with the workspace's current state (duplicate name, bad stage move)."""

    exit_code = 4


class UntrustedArtifactError(StewardError):
    """A pickle imports globals outside the allowlist and was not explicitly trusted."""

    exit_code = 5

    def __init__(self, message: str, offending: list[str], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.offending = offending


class IntegrityError(StewardError):
    """Stored content does not match its recorded hash, or the audit chain is broken."""

    exit_code = 6


class WorkspaceBusyError(StewardError):
    """Another process held the workspace's write lock for longer than we wait."""

    exit_code = 7
