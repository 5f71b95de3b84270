"""Signing function for browser-direct OSS PostObject uploads.

Layers, one way only: ``fc`` / ``web`` (platform adapters) → ``grants`` /
``upload_request`` / ``auth`` / ``ratelimit`` / ``completion`` (application) →
``policy`` / ``signing`` / ``keys`` / ``callback`` (pure core). ``sts`` is the one module
that talks to Alibaba Cloud, ``httpfetch`` the one that makes other outgoing requests
(JWKS, callback public keys, both behind injectable fetchers); ``config`` is the one
module that reads the environment; ``accesslog`` writes the per-request JSON line.
"""

from __future__ import annotations
