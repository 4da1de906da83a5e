"""devstack.dashboard_server: the files as they are, a generated config.json, the headers S3 would send."""
from __future__ import annotations

import http.client
import json
import threading

import pytest
import requests

from devstack import dashboard_server
from devstack.dashboard_server import PortInUse, serve_dashboard


@pytest.fixture
def server():
    srv = serve_dashboard("127.0.0.1", 0, "http://127.0.0.1:9999/", extra_config={"mqtt": {"host": "mqtt.local"}})
    yield srv
    srv.shutdown()


def test_config_json_points_at_the_api_and_is_never_cached(server):
    r = requests.get(f"{server.url}/config.json", timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Cache-Control"] == "no-store"
    assert r.json() == {"api_url": "http://127.0.0.1:9999", "mqtt": {"host": "mqtt.local"}}


@pytest.mark.parametrize(("path", "ctype"), [
    ("/", "text/html; charset=utf-8"),
    ("/index.html", "text/html; charset=utf-8"),
    ("/js/main.js", "text/javascript; charset=utf-8"),
    ("/css/app.css", "text/css; charset=utf-8"),
    ("/vendor/uplot/uPlot.esm.js", "text/javascript; charset=utf-8"),
    ("/img/logo.svg", "image/svg+xml"),
    ("/branding.json", "application/json"),
])
def test_files_are_served_with_their_types_and_security_headers(server, path, ctype):
    r = requests.get(server.url + path, timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == ctype
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert "connect-src 'self' http://127.0.0.1:9999;" in csp


def test_entry_points_are_revalidated_and_assets_cached_briefly(server):
    assert requests.get(server.url + "/", timeout=5).headers["Cache-Control"] == "no-cache"
    assert requests.get(server.url + "/branding.json", timeout=5).headers["Cache-Control"] == "no-cache"
    assert requests.get(server.url + "/js/api.js", timeout=5).headers["Cache-Control"] == "public, max-age=300"


def test_client_routes_get_the_app_and_missing_files_404(server):
    r = requests.get(server.url + "/reset-password?token=abc", timeout=5)
    assert r.status_code == 200 and "<title>" in r.text and r.headers["Cache-Control"] == "no-cache"
    assert requests.get(server.url + "/js/nope.js", timeout=5).status_code == 404


def test_no_file_outside_the_folder_is_reachable(server):
    host, port = server.server_address[:2]
    for path in ("/../devstack/dashboard_server.py", "/../app.py", "/%2e%2e/app.py", "/..%2fapp.py"):
        conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.request("GET", path)  # sent as written: no client-side normalization
        body = conn.getresponse().read().decode(errors="replace")
        conn.close()
        assert "serve_dashboard" not in body and "Chalice(" not in body


def test_a_modified_copy_can_be_served(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>copy</title>")
    (tmp_path / "branding.json").write_text(json.dumps({"product_name": "Copy"}))
    srv = serve_dashboard("127.0.0.1", 0, "http://api.example", root=tmp_path)
    try:
        assert requests.get(srv.url + "/branding.json", timeout=5).json() == {"product_name": "Copy"}
        assert requests.get(srv.url + "/config.json", timeout=5).json() == {"api_url": "http://api.example"}
    finally:
        srv.shutdown()


def test_port_in_use_is_reported_clearly(server):
    port = server.server_address[1]
    with pytest.raises(PortInUse, match="DASHBOARD_PORT"):
        serve_dashboard("127.0.0.1", port, "http://127.0.0.1:8000")


def test_shutdown_frees_the_port():
    srv = serve_dashboard("127.0.0.1", 0, "http://127.0.0.1:8000")
    port = srv.server_address[1]
    srv.shutdown()
    again = serve_dashboard("127.0.0.1", port, "http://127.0.0.1:8000")
    again.shutdown()


def test_main_reads_port_and_api_url_from_the_environment(monkeypatch):
    seen = {}

    class FakeServer:
        url = "http://127.0.0.1:9090"

        def shutdown(self):
            seen["stopped"] = True

    def fake_serve(host, port, api_url):
        seen.update(host=host, port=port, api_url=api_url)
        return FakeServer()

    def interrupt(self, timeout=None):
        raise KeyboardInterrupt

    monkeypatch.setenv("DASHBOARD_PORT", "9090")
    monkeypatch.setenv("API_URL", "http://127.0.0.1:8001")
    monkeypatch.setattr(dashboard_server, "serve_dashboard", fake_serve)
    monkeypatch.setattr(threading.Event, "wait", interrupt)
    assert dashboard_server.main() == 0
    assert seen == {"host": "127.0.0.1", "port": 9090, "api_url": "http://127.0.0.1:8001", "stopped": True}
