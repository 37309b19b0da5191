"""A sealed side effect: it may use the host's storage, under the labels its node is granted.

Input ``{"key": str}`` -> inserts ``{}`` under ``key`` in the registry label ``items``: ``SUCCESS {"key": key}``
the first time, ``ALREADY_EXISTS {"key": key}`` after that (the registry is idempotent: a second insert
never overwrites). The node needs the grant ``{"interface": "registry", "label": "items", "ops": ["insert"]}``.
"""

import sealed


def run(input, storage: sealed.Storage):
    key = input.get("key") if isinstance(input, dict) else None
    if not isinstance(key, str):
        raise sealed.InvalidInput("`key` must be a string")
    if storage.registry_insert("items", key, b"{}") == sealed.InsertOutcome.INSERTED:
        return sealed.Outcome.success({"key": key})
    return sealed.Outcome("ALREADY_EXISTS", {"key": key})
