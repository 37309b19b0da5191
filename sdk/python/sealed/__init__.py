"""Write a sealed capability as a plain Python function.

A transform (node kind CT) is a function of its input::

    import sealed

    def run(input):
        n = input.get("n")
        if not isinstance(n, int):
            raise sealed.InvalidInput("`n` must be an integer")
        return sealed.Outcome.success({"double": 2 * n})

A side effect (node kind CS) also receives the host's storage, as a second argument, so the same function
runs against :class:`sealed.testing.MemoryStorage` in plain ``python3`` unit tests::

    def run(input, storage):
        outcome = storage.registry_insert_json("actors", input["id"], input["actor"])
        ...

``host build`` finds ``run`` in the module the project's ``sealed.toml`` names and exports it as the
component's ``node.run``; authors never touch the generated WIT bindings.

This package owns the guest side of the ``sealed:capability`` WIT contract for Python. It must never offer
an ambient I/O path (clock, randomness, files, sockets): everything a component touches comes through
:class:`Storage`. Inside a component those modules exist but are stubbed (see ``sdk/README.md``,
"Determinism of Python and JavaScript guests").
"""

from __future__ import annotations

from .errors import Error, Internal, InvalidInput
from .outcome import Outcome
from .storage import (
    Conflict,
    Event,
    Host,
    InsertOutcome,
    InvalidArgument,
    LimitExceeded,
    NotGranted,
    Other,
    Storage,
    StorageError,
    Versioned,
)

__all__ = [
    "Conflict",
    "Error",
    "Event",
    "Host",
    "InsertOutcome",
    "Internal",
    "InvalidArgument",
    "InvalidInput",
    "LimitExceeded",
    "NotGranted",
    "Other",
    "Outcome",
    "Storage",
    "StorageError",
    "Versioned",
]
