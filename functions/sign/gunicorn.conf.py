"""gunicorn settings for the signing function's WSGI app (``index:app``), kept in one place.

Read by gunicorn, never imported by the application: ``make dev`` (the local cloud adds
``--bind``), self-hosting and an FC custom runtime all start the function as
``gunicorn -c gunicorn.conf.py --bind HOST:PORT`` from ``functions/sign`` (without
``--bind`` gunicorn takes ``$PORT`` or 127.0.0.1:8000, as it always does). Command-line
options override anything here. Standard library only; gevent is needed at run time.

Slow clients: gunicorn's threaded worker parks one of its few threads on every connection
whose request line, headers or body are still arriving, so a handful of clients that stall
starve everyone else. The gevent worker gives each connection a greenlet instead; a stalled
client costs a greenlet and a socket, and two deadlines drop it:

- the request line and headers must arrive within ``keepalive`` seconds (gunicorn's gevent
  worker wraps every header read, the first request's included, in that timeout);
- each read of a request body may wait at most ``body_read_timeout`` seconds for data.

Running under gevent means the standard library is monkey-patched in the worker before the
application is built (on its first request): ``threading.Lock`` and the STS SDK's
``requests`` calls cooperate with other greenlets instead of blocking the process.
"""

from __future__ import annotations

from typing import Any

wsgi_app = "index:app"
worker_class = "gevent"
#: One process per instance; its greenlets serve concurrent requests.
workers = 1
#: Simultaneous connections per worker; the deadlines below keep stalled ones from
#: holding their place for long.
worker_connections = 1000
#: Seconds an idle kept-alive connection stays open and, under gevent, the deadline for
#: each request's line and headers.
keepalive = 5
#: Seconds one read of a request body (or one write of the answer) may wait; not a gunicorn
#: setting, applied by ``pre_request``. The grant request body is a few hundred bytes.
body_read_timeout = 10.0
#: Under gevent only the worker's heartbeat: the event loop may not block this long.
timeout = 30
#: gunicorn 27 otherwise opens a control socket at ``~/.gunicorn/gunicorn.ctl``, shared by
#: every instance a user runs (two local clouds, tests in parallel); nothing here uses it.
control_socket_disable = True


def pre_request(worker: Any, req: Any) -> None:
    """Bound the socket reads of this request's body, which the app makes after this hook.

    A client that announces a body and never sends it then meets a timeout instead of
    holding its greenlet until it hangs up.
    """
    sock = getattr(req.unreader, "sock", None)
    if sock is not None:
        sock.settimeout(body_read_timeout)
