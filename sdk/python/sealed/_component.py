"""The bridge between an author's ``run`` function and the generated ``node`` export (used by the entry
module that ``host build`` generates; not a stable API).

It turns the JSON text input into a value, calls ``run`` (with :class:`sealed.Host` storage for a side
effect), and maps every way out to the WIT contract: an :class:`Outcome` to ``node-result``,
:class:`InvalidInput` to ``invalid-input``, and everything else (``Internal``, an unhandled
:class:`StorageError`, any other exception) to ``internal`` with the exception's type and message. It
must never let an exception become a trap, nor give the guest a path to the host other than the storage
imports.
"""

from __future__ import annotations

import io
import json
import sys

from .errors import Error, InvalidInput
from .outcome import Outcome
from .storage import Host, StorageError


class _Discard(io.TextIOBase):
    """Standard output and error inside a sealed component: WASI is stubbed, so a real write would trap;
    ``print`` debugging is accepted and discarded instead (a capability has no ambient output)."""

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        return len(s)


def node_class(run, world: str):
    """A class implementing the exported ``node`` interface around ``run``."""
    if world not in ("transform", "side-effect"):
        raise ValueError(f"unknown world {world!r}")
    side_effect = world == "side-effect"
    sys.stdout = _Discard()
    sys.stderr = _Discard()

    class Node:
        def run(self, input: str):
            from componentize_py_types import Err
            from wit_world.exports import node

            try:
                value = json.loads(input)
            except ValueError as e:
                raise Err(node.RunError_InvalidInput(f"input is not JSON: {e}")) from None
            try:
                result = run(value, Host()) if side_effect else run(value)
                if not isinstance(result, Outcome):
                    raise Error(f"run must return a sealed.Outcome, not {type(result).__name__}")
                output = result.output_json()
            except InvalidInput as e:
                raise Err(node.RunError_InvalidInput(e.message)) from None
            except Error as e:
                raise Err(node.RunError_Internal(e.message)) from None
            except StorageError as e:
                raise Err(node.RunError_Internal(f"storage: {e}")) from None
            except BaseException as e:  # any other exception is the capability's own failure
                raise Err(node.RunError_Internal(f"{type(e).__name__}: {e}")) from None
            return node.NodeResult(outcome=result.name, output=output)

    return Node
