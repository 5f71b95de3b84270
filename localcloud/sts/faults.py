"""Injected failures for reliability tests: the STS stub misbehaving on purpose.

Owns a thread-safe, runtime-mutable plan of faults the HTTP shell applies before answering:
a delay (to provoke client timeouts), an HTTP 5xx, flow-control throttling, a malformed JSON
body, or a connection closed without an answer. Each fault applies to the next N requests or
with a probability. Pure bookkeeping: the shell performs the fault; no HTTP here.
"""

from __future__ import annotations

import enum
import random
import threading
from dataclasses import dataclass


class FaultMode(enum.Enum):
    """What the stub does instead of (or before) answering normally."""

    DELAY = "delay"
    SERVER_ERROR = "server-error"
    THROTTLE = "throttle"
    MALFORMED_JSON = "malformed-json"
    CONNECTION_RESET = "connection-reset"


@dataclass(frozen=True)
class Fault:
    """One fault to perform; ``delay_seconds`` for DELAY, ``status`` for SERVER_ERROR."""

    mode: FaultMode
    delay_seconds: float = 0.0
    status: int = 503


@dataclass
class _Rule:
    fault: Fault
    remaining: int | None
    probability: float


class FaultPlan:
    """Faults queued for the next requests; safe to change while the server runs."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._rng = rng or random.Random()
        self._applied = 0

    def inject(
        self,
        mode: FaultMode,
        *,
        count: int | None = 1,
        probability: float = 1.0,
        delay_seconds: float = 0.0,
        status: int = 503,
    ) -> None:
        """Add a fault for the next ``count`` requests (``None``: until cleared)."""
        if count is not None and count < 1:
            raise ValueError("count must be positive or None")
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must lie in [0, 1]")
        if not 500 <= status <= 599:
            raise ValueError("status must be a 5xx")
        fault = Fault(mode, delay_seconds=delay_seconds, status=status)
        with self._lock:
            self._rules.append(_Rule(fault, count, probability))

    def clear(self) -> None:
        """Remove every pending fault."""
        with self._lock:
            self._rules.clear()

    @property
    def applied(self) -> int:
        """How many faults have been handed out so far."""
        with self._lock:
            return self._applied

    def next_fault(self) -> Fault | None:
        """Return the fault for the request being served, consuming one use of it."""
        with self._lock:
            for rule in list(self._rules):
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                self._applied += 1
                return rule.fault
            return None
