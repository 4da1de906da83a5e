"""Serve the Chalice app over HTTP in a background thread (what `chalice local` does)."""
from __future__ import annotations

import errno
import threading

from chalice.config import Config
from chalice.local import LocalChalice, LocalDevServer, create_local_server


class PortInUse(RuntimeError):
    pass


def serve(app, host: str, port: int):
    try:
        config = Config(chalice_stage="local")
        # create_local_server turns the app's class into a local one; a second server in the
        # same process (tests) must not do that twice.
        if isinstance(app, LocalChalice):
            server = LocalDevServer(app, config, host, port)
        else:
            server = create_local_server(app, config, host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} on {host} is already in use; set another with API_PORT") from None
        raise
    thread = threading.Thread(target=server.serve_forever, name="api", daemon=True)
    thread.start()
    return server
