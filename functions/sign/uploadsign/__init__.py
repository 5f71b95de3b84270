"""Signing function for browser-direct OSS PostObject uploads.

Layers, one way only: ``index`` (outside the package: the FC event adapter and the WSGI
entry) and ``wsgi`` (the one place errors become answers, CORS headers are added and
every request is access-logged) → ``routes`` / ``grants`` (with the ``POST /uploads``
body rules) / ``auth`` (with the rate limit) / ``jwtauth`` (with the JWKS cache) /
``callback`` / ``callback_verify`` (application) → ``policy`` (with its V4 signing) /
``credentials`` / ``objectkeys`` / ``mediatypes`` (pure core). ``sts`` is the one module
that makes outgoing calls: to Alibaba Cloud (and caches what it got) and the small GETs of
JWKS and callback public keys (behind injectable fetchers); ``limits`` keeps the rate
limit and the storage quota in Redis when ``LIMITS_REDIS_URL`` is set;
``config`` is the one module that reads the environment, from one table of variables
(names, defaults, checks, the README's doc lines); ``wsgi`` also writes the per-request
JSON access line and sets up logging. Heavy imports (PyJWT, ``cryptography``,
``urllib.request``) happen only in the mode or on the route that needs them, to keep
cold starts short.
"""

from __future__ import annotations
