"""Limits every instance shares: the rate limit and the per-caller storage quota, in Redis.

With ``LIMITS_REDIS_URL`` set, :class:`SharedLimits` replaces the per-instance token bucket
(``auth.RateLimiter``) and adds the quota. One grant is one round trip: one ``EVALSHA`` of
:data:`SCRIPT` (redis-py's ``register_script``; a ``SCRIPT LOAD`` only after a Redis
restart) that checks the rate, reserves the declared size and records the grant atomically,
on Redis's clock (``TIME``), so instances with skewed clocks agree.

- Rate: a sliding log per caller (sorted set of grant times): at most
  ``RATE_LIMIT_PER_MINUTE`` grants in any 60 s, exactly, however many instances serve them.
- Quota: a sorted set per caller of ``<grant id>:<size>`` scored by when the entry stops
  counting, and the running total of those sizes. A grant reserves its size until it
  expires (a PostObject policy's expiry, a multipart upload id's); a completed upload (the
  callback, multipart complete) turns the reservation into usage counted for
  ``QUOTA_WINDOW_SECONDS``. Expired entries are trimmed by the same script before every
  decision, so nothing runs in the background. Without ``UPLOAD_CALLBACK_URL`` the function
  never learns whether a PostObject grant was used, so its size counts as usage at once
  (the stricter reading). A commit is idempotent by grant id (a per-grant hash records the
  caller, size and state), so a repeated callback commits once.
- Redis unreachable: ``LIMITS_FAIL_MODE=closed`` (default) answers 503 with
  ``Retry-After``; ``open`` grants and logs a warning. The client has short connect and
  command timeouts and no retries; a later request simply reconnects, so recovery needs no
  restart. A commit that fails is logged, never refused: the object is stored either way.

Every key carries the hash tag ``{odu}``, so a cluster instance keeps them on one shard
(the commit reaches the caller's keys through the grant's hash). ``redis`` is imported only
here, and this module only when configured. Passwords come from the URL or
``LIMITS_REDIS_PASSWORD`` and are never logged: only :func:`redacted` URLs are.
Redis 5.0 or later (Tair included): the script uses ``TIME`` before writes (effects
replication, the default since 5.0) and multi-field ``HSET``. Depends on ``errors``,
``config``, ``callback``'s grace period and the standard library (``redis`` when built).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from uploadsign.callback import GRANT_GRACE_SECONDS
from uploadsign.config import Settings
from uploadsign.errors import PayloadTooLarge, RateLimited, SignError

log = logging.getLogger(__name__)
PREFIX = "{odu}:"
RATE_WINDOW_SECONDS = 60
UNAVAILABLE_RETRY_AFTER = 2
MAX_CONNECTIONS = 64
GRANTED, RATE, QUOTA = 0, 1, 2

#: KEYS: rate log, quota entries, quota total, grant hash (admit); grant hash (commit/release).
#: ARGV: op, prefix, grant id, then per op (see :meth:`SharedLimits.admit`). Returns
#: ``{outcome, milliseconds until it may succeed (-1: never)}``.
SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op, prefix, grant = ARGV[1], ARGV[2], ARGV[3]
local function size_of(member) return tonumber(string.match(member, ':(%d+)$')) end
local function trim(z, used)
  local gone = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #gone > 0 then
    local freed = 0
    for _, member in ipairs(gone) do freed = freed + size_of(member) end
    redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
    redis.call('DECRBY', used, freed)  -- keeps the key's expiry (Redis 5 has no KEEPTTL)
  end
  if redis.call('ZCARD', z) == 0 then
    redis.call('DEL', used)
    return 0
  end
  return tonumber(redis.call('GET', used) or '0')
end
local function keep(z, used)
  local last = redis.call('ZRANGE', z, -1, -1, 'WITHSCORES')
  if last[2] then
    local ttl = tonumber(last[2]) - now + 1000
    redis.call('PEXPIRE', z, ttl)
    redis.call('PEXPIRE', used, ttl)
  end
end
if op == 'admit' then
  local rate, z, used, g = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
  local limit, window = tonumber(ARGV[4]), tonumber(ARGV[5])
  local size, quota, hold = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
  local qwindow, grace, caller = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11]
  if limit > 0 then
    redis.call('ZREMRANGEBYSCORE', rate, '-inf', now - window)
    if redis.call('ZCARD', rate) >= limit then
      local oldest = redis.call('ZRANGE', rate, 0, 0, 'WITHSCORES')
      return {1, tonumber(oldest[2]) + window - now}
    end
  end
  if quota > 0 and size > 0 then
    local total = trim(z, used)
    if total + size > quota then
      local need, freed = total + size - quota, 0
      local entries = redis.call('ZRANGE', z, 0, -1, 'WITHSCORES')
      for i = 1, #entries, 2 do
        freed = freed + size_of(entries[i])
        if freed >= need then return {2, tonumber(entries[i + 1]) - now} end
      end
      return {2, -1}
    end
    local stops = now + (hold > 0 and hold or qwindow)
    redis.call('ZADD', z, stops, grant .. ':' .. size)
    redis.call('INCRBY', used, size)
    keep(z, used)
    local state = hold > 0 and 'reserved' or 'used'
    redis.call('HSET', g, 'caller', caller, 'size', size, 'state', state)
    redis.call('PEXPIRE', g, stops - now + grace)
  end
  if limit > 0 then
    redis.call('ZADD', rate, now, grant)
    redis.call('PEXPIRE', rate, window)
  end
  return {0, 0}
end
local g = KEYS[1]
local caller, size, state = unpack(redis.call('HMGET', g, 'caller', 'size', 'state'))
if not caller or state == 'used' then return {0, 0} end
local z, used = prefix .. 'quota:' .. caller, prefix .. 'used:' .. caller
local member = grant .. ':' .. size
trim(z, used)
if op == 'release' then
  if redis.call('ZREM', z, member) == 1 then redis.call('DECRBY', used, size) end
  redis.call('DEL', g)
  return {0, 0}
end
local stops = now + tonumber(ARGV[4])
if not redis.call('ZSCORE', z, member) then redis.call('INCRBY', used, size) end
redis.call('ZADD', z, stops, member)
keep(z, used)
redis.call('HSET', g, 'state', 'used')
redis.call('PEXPIRE', g, stops - now)
return {0, 0}
"""


class QuotaExceeded(SignError):
    """The caller's stored and reserved bytes plus this file would exceed the quota."""

    status = 429
    code = "quota_exceeded"

    def __init__(self, retry_after: int, resets_at: str) -> None:
        super().__init__(
            f"storage quota exceeded; enough of it frees up in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
            details={"retry_after": retry_after, "resets_at": resets_at},
        )
        self.retry_after = retry_after


class LimitsUnavailable(SignError):
    """``LIMITS_FAIL_MODE=closed`` and the limits store did not answer in time."""

    status = 503
    code = "limits_unavailable"

    def __init__(self, retry_after: int = UNAVAILABLE_RETRY_AFTER) -> None:
        super().__init__(
            "upload limits are temporarily unavailable; retry later",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


def redacted(url: str) -> str:
    """Return ``url`` with any password replaced by ``***`` (safe to log)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def connect(settings: Settings) -> Any:
    """Return a ``redis.Redis`` for ``LIMITS_REDIS_URL``: short timeouts, no retries."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    timeout = settings.limits_redis_timeout_ms / 1000.0
    return redis.Redis.from_url(
        settings.limits_redis_url,
        password=settings.limits_redis_password or None,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        max_connections=MAX_CONNECTIONS,
        # RESP2 (Redis/Tair of any version) and no CLIENT SETINFO: a new connection costs
        # AUTH (+ SELECT) only; every grant after that is one EVALSHA.
        protocol=2,
        driver_info=None,
    )


class SharedLimits:
    """The rate limit and the quota in one Redis, for every instance of the function."""

    def __init__(self, settings: Settings, client: Any, clock: Callable[[], datetime],
                 *, rate_window_seconds: int = RATE_WINDOW_SECONDS) -> None:
        import redis

        self._errors = (redis.RedisError, OSError)
        self._script = client.register_script(SCRIPT)
        self._clock = clock
        self._rate = settings.rate_limit_per_minute
        self._window_ms = rate_window_seconds * 1000
        self._quota = settings.quota_bytes_per_caller
        self._quota_ms = settings.quota_window_seconds * 1000
        self._fail_open = settings.limits_fail_mode == "open"
        self._where = redacted(settings.limits_redis_url)

    def __repr__(self) -> str:
        return f"SharedLimits({self._where!r})"

    def admit(self, caller: str, grant_id: str, size: int, hold: timedelta | None) -> None:
        """Count one grant of ``size`` bytes (0: no quota, e.g. a prefix grant) for ``caller``.

        ``hold`` is how long the reservation lasts (until the grant expires); ``None``
        counts the size as used at once. Raises RateLimited (429 ``rate_limited``),
        QuotaExceeded (429 ``quota_exceeded``), PayloadTooLarge (413: larger than the whole
        quota) or, fail-closed, LimitsUnavailable (503).
        """
        if self._quota and size > self._quota:
            raise PayloadTooLarge(f"size exceeds the quota of {self._quota} bytes per caller")
        hold_ms = 0 if hold is None else max(1, int(hold.total_seconds() * 1000))
        keys = [f"{PREFIX}{kind}:{caller}" for kind in ("rate", "quota", "used")]
        args = ["admit", PREFIX, grant_id, self._rate, self._window_ms, size if self._quota else 0,
                # The grant's hash outlives the reservation by the callback's grace period,
                # so a callback that arrives late still commits, once.
                self._quota, hold_ms, self._quota_ms, GRANT_GRACE_SECONDS * 1000, caller]
        answer = self._run([*keys, f"{PREFIX}grant:{grant_id}"], args, grant_id)
        if answer is None:
            return
        outcome, wait_ms = int(answer[0]), int(answer[1])
        seconds = max(1, math.ceil(wait_ms / 1000))
        if outcome == RATE:
            raise RateLimited(seconds)
        if outcome == QUOTA:
            resets = self._clock() + timedelta(seconds=seconds)
            raise QuotaExceeded(seconds, resets.strftime("%Y-%m-%dT%H:%M:%SZ"))

    def commit(self, grant_id: str | None) -> None:
        """Turn ``grant_id``'s reservation into usage, once however often it is called."""
        if grant_id and self._quota:
            self._run([f"{PREFIX}grant:{grant_id}"], ["commit", PREFIX, grant_id, self._quota_ms],
                      grant_id, refuse=False)

    def release(self, grant_id: str) -> None:
        """Drop ``grant_id``'s reservation (an aborted upload stores nothing)."""
        if self._quota:
            self._run([f"{PREFIX}grant:{grant_id}"], ["release", PREFIX, grant_id], grant_id,
                      refuse=False)

    def _run(self, keys: list[str], args: list[Any], grant_id: str,
             *, refuse: bool = True) -> Any:
        try:
            return self._script(keys=keys, args=args)
        except self._errors as exc:
            what = f"limits store {self._where} failed ({type(exc).__name__}) for grant {grant_id}"
            if refuse and not self._fail_open:
                log.warning("%s; refusing (LIMITS_FAIL_MODE=closed)", what)
                raise LimitsUnavailable() from None
            log.warning("%s; %s without limits", what, "granting" if refuse else "going on")
            return None
