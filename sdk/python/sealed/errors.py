"""Why a node could not produce an outcome (the WIT ``run-error``).

Both fail the run; route business rejections with an :class:`sealed.Outcome` instead (for example
``Outcome.violation(reason)``). Any other exception escaping ``run`` is reported as :class:`Internal`
with its type name, so a bug in a capability is a typed error, never a trap without a message.
"""

from __future__ import annotations


class Error(Exception):
    """Base of the two run errors; ``message`` is what the host records."""

    #: The WIT ``run-error`` case this error becomes.
    case = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = str(message)


class InvalidInput(Error):
    """The input is not what this capability accepts (wrong shape, missing field)."""

    case = "invalid-input"


class Internal(Error):
    """The capability failed for a reason of its own (including a storage error it does not handle)."""

    case = "internal"
