"""The PostObject policy document: decoding, validation and condition evaluation.

Owns what a policy *says* and whether a form satisfies it (oss-postobject.md §5):
Base64/UTF-8/JSON decoding with OSS's ``\\$`` escape, ``expiration`` in both ISO
forms, and every condition form (``{"f": "v"}``, ``eq``, ``starts-with``,
``content-length-range``, ``in``, ``not-in``). Names are case-insensitive, values
case-sensitive, an absent field fails. Pure: no I/O, no clock (``now`` is passed
in), no knowledge of signatures or multipart.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from localcloud.oss.postobject import errors

OP_EQ = "eq"
OP_STARTS_WITH = "starts-with"
OP_IN = "in"
OP_NOT_IN = "not-in"
OP_RANGE = "content-length-range"
_FIELD_OPS = (OP_EQ, OP_STARTS_WITH, OP_IN, OP_NOT_IN)
_EXPIRATION_FORMATS = ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Condition:
    """One condition, normalised: ``field`` is lower-case without ``$``; ``shown`` is
    the condition as OSS prints it in a failure message."""

    op: str
    field: str
    values: tuple[str, ...] = ()
    low: int = 0
    high: int = 0
    shown: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Policy:
    """A decoded, structurally valid policy."""

    expiration: datetime
    conditions: tuple[Condition, ...]

    def length_bounds(self) -> tuple[int, int | None]:
        """Return the (min, max) file size allowed by all content-length-range conditions."""
        low, high = 0, None
        for cond in self.conditions:
            if cond.op == OP_RANGE:
                low = max(low, cond.low)
                high = cond.high if high is None else min(high, cond.high)
        return low, high

    def conditions_on(self, field: str) -> tuple[Condition, ...]:
        """Return the conditions constraining ``field`` (case-insensitive)."""
        name = field.lower()
        return tuple(c for c in self.conditions if c.op != OP_RANGE and c.field == name)


def _unescape_dollar(text: str) -> str:
    """Turn OSS's ``\\$`` into ``$`` (not after an escaped backslash) so JSON can parse it."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("$" if nxt == "$" else char + nxt)
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _json_error_message(doc: str, exc: json.JSONDecodeError) -> str:
    """Word a JSON syntax error the way OSS does where its wording is known."""
    if exc.msg == "Expecting value" and exc.pos < len(doc):
        return f"Invalid Policy: Invalid JSON: unknown char {doc[exc.pos]}"
    if exc.msg == "Expecting ',' delimiter":
        closer = "]" if _innermost_open(doc[: exc.pos]) == "[" else "}"
        return f"Invalid Policy: Invalid JSON: , or {closer} expected"
    return f"Invalid Policy: Invalid JSON: {exc.msg.lower()}"


def _innermost_open(prefix: str) -> str:
    stack: list[str] = []
    in_string = escaped = False
    for char in prefix:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            stack.append(char)
        elif char in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else "{"


def parse_expiration(value: Any) -> datetime:
    """Parse ``expiration`` (with or without milliseconds, UTC ``Z``)."""
    if isinstance(value, str):
        for fmt in _EXPIRATION_FORMATS:
            try:
                return datetime.strptime(value, fmt).replace(tzinfo=timezone.utc)
            except ValueError:
                continue
    raise errors.invalid_policy(
        f"Invalid Policy: Invalid 'expiration' value: '{value}'.", ec="0006-00000208"
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_condition(raw: Any) -> Condition:
    if isinstance(raw, dict):
        if len(raw) != 1:
            raise errors.invalid_policy(errors.MSG_SIMPLE_CONDITION)
        ((name, value),) = raw.items()
        if not isinstance(value, str):
            raise errors.invalid_policy(
                f"Invalid Policy: Invalid Simple-Condition: value of '{name}' must be a string."
            )
        return Condition(OP_EQ, name.lower(), (value,), shown=(OP_EQ, f"${name}", value))
    if not isinstance(raw, list):
        raise errors.invalid_policy(
            "Invalid Policy: condition must be a JSON object or array.", ec="0006-00000222"
        )
    if not raw or not isinstance(raw[0], str) or raw[0].startswith("$"):
        raise errors.invalid_policy(
            "Invalid Policy: Invalid condition: missing operator.", ec="0006-00000216"
        )
    op = raw[0]
    if op not in (*_FIELD_OPS, OP_RANGE):
        raise errors.invalid_policy(
            f"Invalid Policy: Invalid condition: unsupported operator '{op}'.",
            ec="0006-00000217",
        )
    if len(raw) != 3:
        raise errors.invalid_policy(
            f"Invalid Policy: Invalid condition: '{op}' takes exactly two arguments.",
            ec="0006-00000218",
        )
    if op == OP_RANGE:
        low, high = raw[1], raw[2]
        if not (_is_int(low) and _is_int(high)) or low < 0 or high < 0:
            raise errors.invalid_policy(
                "Invalid Policy: content-length-range bounds must be non-negative integers.",
                ec="0006-00000221",
            )
        if high < low:
            raise errors.invalid_policy(
                "Invalid Policy: content-length-range maximum is less than its minimum.",
                ec="0006-00000219",
            )
        return Condition(OP_RANGE, "", low=low, high=high, shown=tuple(raw))
    name, value = raw[1], raw[2]
    if not isinstance(name, str) or not name.startswith("$") or len(name) < 2:
        raise errors.invalid_policy(
            f"Invalid Policy: Invalid condition: field of '{op}' must start with '$'."
        )
    if op in (OP_IN, OP_NOT_IN):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise errors.invalid_policy(
                f"Invalid Policy: Invalid condition: '{op}' needs a list of strings.",
                ec="0006-00000224",
            )
        return Condition(op, name[1:].lower(), tuple(value), shown=(op, name, list(value)))
    if not isinstance(value, str):
        raise errors.invalid_policy(
            f"Invalid Policy: Invalid condition: value of '{op}' must be a string."
        )
    return Condition(op, name[1:].lower(), (value,), shown=(op, name, value))


def decode_policy(policy_b64: str) -> Policy:
    """Decode and validate the Base64 ``policy`` field exactly as received."""
    try:
        raw = base64.b64decode(policy_b64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise errors.invalid_policy(
            "Invalid Policy: Invalid Base64 encoding.", ec="0006-00000202"
        ) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.invalid_policy(
            "Invalid Policy: Invalid UTF-8 encoding.", ec="0006-00000203"
        ) from exc
    doc = _unescape_dollar(text)
    try:
        parsed = json.loads(doc)
    except json.JSONDecodeError as exc:
        raise errors.invalid_policy(_json_error_message(doc, exc), ec="0006-00000203") from exc
    except RecursionError as exc:
        raise errors.invalid_policy("Invalid Policy: Invalid JSON: too deep.") from exc
    if not isinstance(parsed, dict):
        raise errors.invalid_policy("Invalid Policy: policy must be a JSON object.")
    if "expiration" not in parsed:
        raise errors.invalid_policy(
            "Invalid Policy: Policy missing expiration.", ec="0006-00000208"
        )
    expiration = parse_expiration(parsed["expiration"])
    raw_conditions = parsed.get("conditions")
    if not isinstance(raw_conditions, list) or not raw_conditions:
        raise errors.invalid_policy("Invalid Policy: Policy missing conditions.")
    return Policy(expiration, tuple(_parse_condition(c) for c in raw_conditions))


def check_expiration(policy: Policy, now: datetime) -> None:
    """Refuse a request that arrives at or after the policy's expiration."""
    if now >= policy.expiration:
        raise errors.policy_expired()


def _satisfied(cond: Condition, value: str | None) -> bool:
    if value is None:
        return False
    if cond.op == OP_EQ:
        return value == cond.values[0]
    if cond.op == OP_STARTS_WITH:
        return value.startswith(cond.values[0])
    if cond.op == OP_IN:
        return value in cond.values
    return value not in cond.values


def check_conditions(policy: Policy, values: Mapping[str, str]) -> None:
    """Evaluate every field condition against ``values`` (lower-case names → raw values).

    The caller supplies the addressed bucket as ``bucket`` and any fallback values;
    ``content-length-range`` is checked against the file size elsewhere, while
    streaming. The first unmet condition is reported, quoted as OSS quotes it.
    """
    for cond in policy.conditions:
        if cond.op == OP_RANGE:
            continue
        if not _satisfied(cond, values.get(cond.field)):
            raise errors.condition_failed(cond.shown)
