"""Typed access to the host's storage imports (``registry``, ``events``, ``state``).

:class:`Storage` is the seam that keeps capability logic testable: inside a component it is
:class:`Host`, which calls the WIT imports; in a plain-Python unit test it is
:class:`sealed.testing.MemoryStorage`. Every call names a label the snapshot must grant to the node.

A refused call raises a :class:`StorageError` subclass named after the WIT ``storage-error`` case. (The
host stops the component at the first ``not-granted`` refusal, so a capability normally never sees that
one; it exists for :class:`sealed.testing.MemoryStorage` and for completeness.)
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any, List, Optional


class StorageError(Exception):
    """Base of the storage refusals; ``case`` is the WIT case, ``detail`` the host's text."""

    case = "other"

    def __init__(self, detail: str) -> None:
        super().__init__(f"{self.case}: {detail}")
        self.detail = str(detail)


class NotGranted(StorageError):
    """The node holds no grant for this interface, label and operation."""

    case = "not-granted"


class InvalidArgument(StorageError):
    """A key, label or value is malformed (empty, too long)."""

    case = "invalid-argument"


class Conflict(StorageError):
    """A registry key bound to different bytes, or a state version that is not the current one."""

    case = "conflict"


class LimitExceeded(StorageError):
    """A budget of the node was exhausted: value size, number of storage calls, bytes moved."""

    case = "limit-exceeded"


class Other(StorageError):
    """Anything else (a storage backend failure). The host fails the run after such an error."""

    case = "other"


class InsertOutcome(enum.Enum):
    """What a registry insert did."""

    INSERTED = "inserted"
    ALREADY_EXISTS = "already-exists"


@dataclass(frozen=True)
class Event:
    """One event of a stream: its position (from 1) and the bytes that were appended."""

    seq: int
    payload: bytes


@dataclass(frozen=True)
class Versioned:
    """A state value and its version (versions start at 1 and grow by 1 on every store)."""

    version: int
    value: bytes


class Storage:
    """The storage a side effect may use. Subclasses implement the nine calls."""

    def registry_insert(self, label: str, key: str, value: bytes) -> InsertOutcome:
        raise NotImplementedError

    def registry_get(self, label: str, key: str) -> Optional[bytes]:
        raise NotImplementedError

    def registry_exists(self, label: str, key: str) -> bool:
        raise NotImplementedError

    def registry_remove(self, label: str, key: str) -> bool:
        """Unbinds ``key`` (contract 0.1.1): True if it was bound, False if nothing was. The key may be
        bound again later; the host keeps the removed binding for audit."""
        raise NotImplementedError

    def events_append(self, label: str, key: str, payload: bytes) -> int:
        raise NotImplementedError

    def events_read(self, label: str, key: str, from_seq: int, max_count: int) -> List[Event]:
        raise NotImplementedError

    def state_load(self, label: str, key: str) -> Optional[Versioned]:
        raise NotImplementedError

    def state_store_if_version(self, label: str, key: str, expected_version: int, value: bytes) -> int:
        raise NotImplementedError

    def state_list_keys(self, label: str, start_after: Optional[str], max_count: int) -> List[str]:
        """State keys of ``label`` after ``start_after``, ascending, at most ``max_count`` (contract 0.1.1).
        The host returns at most 64 per call: page on with the last key until an empty list comes back."""
        raise NotImplementedError

    def registry_insert_json(self, label: str, key: str, value: Any) -> InsertOutcome:
        """Inserts a JSON value, serialised compactly with sorted keys (the Rust SDK's bytes)."""
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"))
        return self.registry_insert(label, key, text.encode("utf-8"))


_ERRORS = {
    "StorageError_NotGranted": NotGranted,
    "StorageError_InvalidArgument": InvalidArgument,
    "StorageError_Conflict": Conflict,
    "StorageError_LimitExceeded": LimitExceeded,
    "StorageError_Other": Other,
}


def _call(f, *args):
    # The generated bindings raise `componentize_py_types.Err(StorageError_<Case>(detail))`; authors get
    # the typed exception instead. Imported here, not at module level, so the package also loads outside
    # a component (unit tests), where these modules do not exist.
    from componentize_py_types import Err

    try:
        return f(*args)
    except Err as e:
        err = e.value
        raise _ERRORS.get(type(err).__name__, Other)(getattr(err, "value", repr(err))) from None


class Host(Storage):
    """The host's storage, reached through the component's imports. Only usable inside a side-effect
    component: elsewhere every call raises :class:`Other` (a transform has no storage imports at all)."""

    @staticmethod
    def _imports():
        try:
            from wit_world.imports import events, registry, state
        except ImportError:
            raise Other("no sealed host: Host storage only works inside a side-effect component") from None
        return registry, events, state

    def registry_insert(self, label: str, key: str, value: bytes) -> InsertOutcome:
        registry, _, _ = self._imports()
        out = _call(registry.insert, label, key, bytes(value))
        return InsertOutcome.INSERTED if out == registry.InsertOutcome.INSERTED else InsertOutcome.ALREADY_EXISTS

    def registry_get(self, label: str, key: str) -> Optional[bytes]:
        registry, _, _ = self._imports()
        return _call(registry.get, label, key)

    def registry_exists(self, label: str, key: str) -> bool:
        registry, _, _ = self._imports()
        return _call(registry.exists, label, key)

    def registry_remove(self, label: str, key: str) -> bool:
        registry, _, _ = self._imports()
        return _call(registry.remove, label, key)

    def events_append(self, label: str, key: str, payload: bytes) -> int:
        _, events, _ = self._imports()
        return _call(events.append, label, key, bytes(payload))

    def events_read(self, label: str, key: str, from_seq: int, max_count: int) -> List[Event]:
        _, events, _ = self._imports()
        return [Event(e.seq, e.payload) for e in _call(events.read, label, key, from_seq, max_count)]

    def state_load(self, label: str, key: str) -> Optional[Versioned]:
        _, _, state = self._imports()
        v = _call(state.load, label, key)
        return None if v is None else Versioned(v.version, v.value)

    def state_store_if_version(self, label: str, key: str, expected_version: int, value: bytes) -> int:
        _, _, state = self._imports()
        return _call(state.store_if_version, label, key, expected_version, bytes(value))

    def state_list_keys(self, label: str, start_after: Optional[str], max_count: int) -> List[str]:
        _, _, state = self._imports()
        return list(_call(state.list_keys, label, start_after, max_count))
