"""A capability that tries to escape: each probe reaches for something a sealed component must not have
(`tests/e2e/authors_interp.rs` runs every probe and checks that it is contained)."""

import datetime
import hashlib
import os
import random
import secrets
import time

import sealed


def _probe(name):
    if name == "wall-clock":
        return time.time()
    if name == "monotonic-clock":
        return time.monotonic()
    if name == "datetime":
        return datetime.datetime.now().isoformat()
    if name == "secrets":
        return secrets.token_hex(8)
    if name == "random":
        return [random.random() for _ in range(3)]
    if name == "urandom":
        return os.urandom(8).hex()
    if name == "system-random":
        return random.SystemRandom().random()
    if name == "hash-seed":
        return [hash("sealed"), hash(b"sealed")]
    if name == "uuid4":
        import uuid

        return str(uuid.uuid4())
    if name == "open-file":
        with open("/etc/passwd") as f:
            return f.read()
    if name == "write-file":
        with open("/tmp/sealed-escape", "w") as f:
            return f.write("escaped")
    if name == "list-dir":
        return sorted(os.listdir("/"))
    if name == "environ":
        return dict(os.environ)
    if name == "socket":
        import socket

        s = socket.create_connection(("127.0.0.1", 9), timeout=1)
        return str(s)
    if name == "print":
        print("hello from the sandbox")
        return "printed"
    if name == "sha256":
        return hashlib.sha256(b"sealed").hexdigest()
    raise sealed.InvalidInput(f"unknown probe {name!r}")


def run(input):
    name = input.get("probe") if isinstance(input, dict) else None
    return sealed.Outcome.success({"probe": name, "value": _probe(name)})
