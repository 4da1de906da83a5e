"""Serve the Chalice app over HTTP in a background thread (what `chalice local` does)."""
from __future__ import annotations

import errno
import threading

from chalice.config import Config
from chalice.local import create_local_server


class PortInUse(RuntimeError):
    pass


def serve(app, host: str, port: int):
    try:
        server = create_local_server(app, Config(chalice_stage="local"), host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} on {host} is already in use; set another with API_PORT") from None
        raise
    thread = threading.Thread(target=server.serve_forever, name="api", daemon=True)
    thread.start()
    return server
