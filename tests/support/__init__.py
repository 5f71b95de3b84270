"""Test helpers shared by more than one test area (no fixtures, no test functions).

- ``liveserver``: the one way a test runs a loopback HTTP server (a handler class or a WSGI
  app), stopped promptly; ``tests/conftest.py``'s ``live_server`` fixture wraps it.
- ``loopback``: the one STS on loopback (the local cloud's stub, recording what it issues),
  the signing app wired to it and a simulated clock; the reliability suite and ``bench/``
  share it.
- ``callbackapp``: the scripted application server upload callbacks are sent to.
- ``redisserver``: a real ``redis-server`` on loopback for the shared-limits tests.
- ``callback_vectors``: OSS's published callback signature vectors.
- ``structure``: import graphs, cycles and the files a request runs through.
"""
