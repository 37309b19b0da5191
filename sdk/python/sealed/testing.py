"""An in-memory :class:`sealed.Storage` with the host's semantics, for plain-Python unit tests.

It mirrors the host's rules (write-once registry with conflict detection, gap-free event sequences
starting at 1, versioned compare-and-swap state, removal of registry keys that frees them, key listing in
ascending order, at most 64 keys or events per call as the host pages) and can refuse labels, so a capability's handling of
``not-granted`` is testable too. It is not the host: grants, limits and atomic commit live there, and
``host test`` runs the built component against the real engine.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

from .storage import Conflict, Event, InsertOutcome, InvalidArgument, NotGranted, Storage, Versioned

# The most events the host returns from one events.read; a reader pages on with from_seq.
MAX_READ_EVENTS = 64
# The most keys the host returns from one state.list_keys; a lister pages on with the last key.
MAX_LIST_KEYS = 64


class MemoryStorage(Storage):
    def __init__(self) -> None:
        self.registry: Dict[Tuple[str, str], bytes] = {}
        self.events: Dict[Tuple[str, str], List[bytes]] = {}
        self.state: Dict[Tuple[str, str], Versioned] = {}
        # Every registry binding removed, oldest first: (label, key, bytes).
        self.removed: List[Tuple[str, str, bytes]] = []
        self._denied: Set[str] = set()

    def deny_label(self, label: str) -> "MemoryStorage":
        """Every call on ``label`` is refused with ``not-granted`` from now on."""
        self._denied.add(label)
        return self

    def _check(self, label: str, key: str) -> Tuple[str, str]:
        if label in self._denied:
            raise NotGranted(f"label {label!r}")
        if not key:
            raise InvalidArgument("empty key")
        return (label, key)

    def registry_insert(self, label: str, key: str, value: bytes) -> InsertOutcome:
        k = self._check(label, key)
        existing = self.registry.get(k)
        if existing is None:
            self.registry[k] = bytes(value)
            return InsertOutcome.INSERTED
        if existing == bytes(value):
            return InsertOutcome.ALREADY_EXISTS
        raise Conflict(f"key {key!r} is bound to different bytes")

    def registry_get(self, label: str, key: str) -> Optional[bytes]:
        return self.registry.get(self._check(label, key))

    def registry_exists(self, label: str, key: str) -> bool:
        return self._check(label, key) in self.registry

    def registry_remove(self, label: str, key: str) -> bool:
        k = self._check(label, key)
        if k not in self.registry:
            return False
        self.removed.append((label, key, self.registry.pop(k)))
        return True

    def events_append(self, label: str, key: str, payload: bytes) -> int:
        stream = self.events.setdefault(self._check(label, key), [])
        stream.append(bytes(payload))
        return len(stream)

    def events_read(self, label: str, key: str, from_seq: int, max_count: int) -> List[Event]:
        stream = self.events.get(self._check(label, key), [])
        start = max(from_seq, 1)
        # As the host: at most MAX_READ_EVENTS per call, whatever max_count asks.
        return [Event(i + 1, p) for i, p in enumerate(stream) if i + 1 >= start][: min(max_count, MAX_READ_EVENTS)]

    def state_load(self, label: str, key: str) -> Optional[Versioned]:
        return self.state.get(self._check(label, key))

    def state_store_if_version(self, label: str, key: str, expected_version: int, value: bytes) -> int:
        k = self._check(label, key)
        current = self.state[k].version if k in self.state else 0
        if current != expected_version:
            raise Conflict(f"expected version {expected_version}, current version is {current}")
        self.state[k] = Versioned(current + 1, bytes(value))
        return current + 1

    def state_list_keys(self, label: str, start_after: Optional[str], max_count: int) -> List[str]:
        if label in self._denied:
            raise NotGranted(f"label {label!r}")
        keys = sorted(k for (l, k) in self.state if l == label and (start_after is None or k > start_after))
        # As the host: at most MAX_LIST_KEYS per call, whatever max_count asks.
        return keys[: min(max_count, MAX_LIST_KEYS)]
