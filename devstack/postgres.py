"""PostgreSQL for the local stack and the tests: DATABASE_URL if given, else an embedded server."""
from __future__ import annotations

import os
from pathlib import Path


def start_postgres(data_dir: Path) -> tuple[str, object | None]:
    """Returns (url, server); server is None when an external DATABASE_URL is used."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url, None
    import pgserver  # bundles PostgreSQL 16: no apt, no Docker

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    return server.get_uri(), server
