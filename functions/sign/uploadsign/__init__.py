"""Signing function for browser-direct OSS PostObject uploads.

Layers, one way only: ``fc`` / ``wsgi`` (platform adapters; ``wsgi.serve`` is the one place
errors become answers and every request is access-logged) → ``routes`` / ``grants`` /
``upload_request`` / ``auth`` / ``jwtauth`` / ``ratelimit`` / ``callback`` /
``callback_verify`` (application) → ``policy`` / ``signing`` / ``credentials`` / ``keys``
(pure core). ``sts`` is the one module that talks to Alibaba Cloud (and caches what it
got), ``httpfetch`` the one that makes other outgoing requests (JWKS, callback public keys,
both behind injectable fetchers); ``config`` is the one module that reads the environment,
from one table of variables (names, defaults, checks, the README's doc lines); ``accesslog``
writes the per-request JSON line. Heavy imports (PyJWT, ``cryptography``, ``urllib.request``)
happen only in the mode or on the route that needs them, to keep cold starts short.
"""

from __future__ import annotations
