"""Free loopback ports for the servers tests start.

Drawn below Linux's ephemeral range (32768+): a port taken from that range (bind to 0) can be
handed to some client connection as its source port before the server binds it, which makes
a test fail for no reason of its own once in a while.
"""

from __future__ import annotations

import random
import socket
import threading

_LOW, _HIGH = 20000, 32000
_handed_out: set[int] = set()
_lock = threading.Lock()


def is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nothing listens on, never handed out twice in this test process."""
    with _lock:
        for _ in range(1000):
            port = random.randrange(_LOW, _HIGH)
            if port not in _handed_out and is_free(port):
                _handed_out.add(port)
                return port
    raise RuntimeError(f"no free port between {_LOW} and {_HIGH}")
