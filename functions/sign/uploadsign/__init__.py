"""Signing function for browser-direct OSS PostObject uploads.

Layers, one way only: ``fc`` / ``web`` (platform adapters) → ``grants`` / ``requests``
(application) → ``policy`` / ``signing`` / ``keys`` (pure core). ``sts`` is the one
module that talks to Alibaba Cloud; ``config`` is the one module that reads the
environment.
"""

from __future__ import annotations
