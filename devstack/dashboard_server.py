"""Serve the dashboard (dashboard_static/) locally, the way S3 serves it in AWS.

The files are served as they are. Only config.json is generated, so the page finds the API of the
stack it belongs to; everything else (branding.json included) comes from the folder.

    python -m devstack.dashboard_server            # http://127.0.0.1:8080, API at http://127.0.0.1:8000
    DASHBOARD_PORT=9090 API_URL=http://127.0.0.1:8001 python -m devstack.dashboard_server
"""
from __future__ import annotations

import errno
import json
import logging
import os
import posixpath
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from deploy.dashboard import cache_control, content_type

log = logging.getLogger("devstack.dashboard")

STATIC_ROOT = Path(__file__).resolve().parent.parent / "dashboard_static"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_API_URL = "http://127.0.0.1:8000"

# The same content types and cache rules as the S3 upload (deploy/dashboard.py), so the local
# dashboard behaves as the deployed one: entry points revalidate on every load, the rest is cached briefly.


class PortInUse(RuntimeError):
    pass


def content_security_policy(api_url: str) -> str:
    """The header twin of the <meta> policy in index.html, narrowed to this stack's API origin."""
    parts = urlsplit(api_url)
    api_origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    connect = " ".join(x for x in ("'self'", api_origin) if x)
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "
            f"connect-src {connect}; font-src 'self'; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")


class _Handler(SimpleHTTPRequestHandler):
    config_body = b"{}"
    csp = ""

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "strict-origin-when-cross-origin")
        self.send_header("X-Frame-Options", "DENY")
        if self.csp:
            self.send_header("Content-Security-Policy", self.csp)
        if getattr(self, "_status", 0) == 200 and not getattr(self, "_cache_sent", False):
            name = posixpath.basename(self._path_only()) or "index.html"
            self.send_header("Cache-Control", cache_control(name))
        super().end_headers()

    def send_response(self, code, message=None) -> None:
        self._status, self._cache_sent = code, False
        super().send_response(code, message)

    def guess_type(self, path) -> str:
        return content_type(str(path))

    def _path_only(self) -> str:
        return urlsplit(self.path).path

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self._serve_special():
            return
        super().do_GET()

    def do_HEAD(self) -> None:  # noqa: N802
        if self._serve_special(head=True):
            return
        super().do_HEAD()

    def _serve_special(self, head: bool = False) -> bool:
        path = self._path_only()
        if path == "/config.json":
            self._send_bytes(self.config_body, "application/json", head)
            return True
        # Client-side routes such as the password-reset link (/reset-password?token=...) get the app,
        # as S3's error document does; a missing file with an extension stays a 404.
        name = posixpath.basename(path)
        if path != "/" and "." not in name and not Path(self.translate_path(path)).exists():
            index = Path(self.directory) / "index.html"
            self._send_bytes(index.read_bytes(), content_type("index.html"), head, cache="no-cache")
            return True
        return False

    def _send_bytes(self, body: bytes, ctype: str, head: bool, cache: str = "no-store") -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self._cache_sent = True
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_message(self, format, *args) -> None:  # noqa: A002 (base class signature)
        log.debug("%s - %s", self.address_string(), format % args)


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True
    thread: threading.Thread | None = None

    def shutdown(self) -> None:
        super().shutdown()
        self.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def serve_dashboard(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, api_url: str = DEFAULT_API_URL, *,
                    root: str | os.PathLike | None = None, extra_config: dict | None = None) -> DashboardServer:
    """Serve `root` (dashboard_static/ by default) in a background thread; returns the running server.

    config.json is answered from memory: {"api_url": api_url, **extra_config}. Stop with .shutdown().
    """
    directory = Path(root) if root is not None else STATIC_ROOT
    if not (directory / "index.html").is_file():
        raise FileNotFoundError(f"{directory} has no index.html")
    config = {"api_url": api_url.rstrip("/"), **(extra_config or {})}
    handler = type("DashboardHandler", (_Handler,), {
        "config_body": json.dumps(config).encode(),
        "csp": content_security_policy(api_url),
    })
    try:
        server = DashboardServer((host, port), partial(handler, directory=str(directory)))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"port {port} on {host} is already in use; set another with DASHBOARD_PORT") from None
        raise
    server.thread = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    server.thread.start()
    return server


def main() -> int:
    logging.basicConfig(level=logging.INFO)
    host = os.environ.get("DASHBOARD_HOST", DEFAULT_HOST)
    port = int(os.environ.get("DASHBOARD_PORT", str(DEFAULT_PORT)))
    api_url = os.environ.get("API_URL", DEFAULT_API_URL)
    server = serve_dashboard(host, port, api_url)
    print(f"dashboard on {server.url} (API {api_url}); Ctrl-C to stop", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
