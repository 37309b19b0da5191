"""A sealed transform: the PGS atom ``CT_PURE_GENERATE_ID_V0``, written as PGS authors write atoms.

Input ``{"prefix": str, "data": any}`` -> ``SUCCESS {"id": "<prefix>_<16 hex>"}``, where the hex is the start
of sha256 over ``json.dumps(d, sort_keys=True, separators=(",", ":"))`` of ``d`` = ``data`` when it is an
object, else ``{"value": data}`` (an absent ``data`` is ``null``). ``VIOLATION {}`` when ``prefix`` is not a
string; ``invalid-input`` when the input has other fields.
"""

import hashlib
import json

import sealed


def execute(inputs: dict) -> dict:
    """The atom as PGS defines it: ``execute(inputs) -> dict``."""
    data = inputs.get("data")
    d = data if isinstance(data, dict) else {"value": data}
    canonical = json.dumps(d, sort_keys=True, separators=(",", ":"))
    return {"id": f"{inputs['prefix']}_{hashlib.sha256(canonical.encode()).hexdigest()[:16]}"}


def run(input):
    """The node: check the input, route a bad prefix to VIOLATION, else SUCCESS with the atom's output."""
    if not isinstance(input, dict):
        raise sealed.InvalidInput("the input must be an object")
    unknown = sorted(set(input) - {"prefix", "data"})
    if unknown:
        raise sealed.InvalidInput(f"unknown input field(s): {', '.join(unknown)}")
    if not isinstance(input.get("prefix"), str):
        return sealed.Outcome("VIOLATION", {})
    return sealed.Outcome.success(execute(input))
