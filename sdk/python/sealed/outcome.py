"""A node's result: the outcome name the workflow routes on, and the output later nodes can read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """``name`` is the edge the workflow follows; ``output`` any JSON-serialisable value.

    Integers in ``output`` must stay within +-2**53 (the host records numbers as doubles and fails the
    node with ``OUTPUT_NOT_JSON`` otherwise); ``NaN`` and infinities are not JSON and fail the node with
    an ``internal`` error before it leaves the component.
    """

    name: str
    output: Any = field(default_factory=dict)

    @staticmethod
    def success(output: Any) -> "Outcome":
        """``SUCCESS`` with ``output``."""
        return Outcome("SUCCESS", output)

    @staticmethod
    def violation(reason: str) -> "Outcome":
        """``VIOLATION`` with ``{"reason": reason}``: a business rejection the workflow can route."""
        return Outcome("VIOLATION", {"reason": str(reason)})

    def output_json(self) -> str:
        """The output as compact JSON text, exactly as the component hands it to the host."""
        return json.dumps(self.output, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
