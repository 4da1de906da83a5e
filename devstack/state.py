"""The one git-ignored folder that holds what must survive a restart of the local stack."""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def state_dir() -> Path:
    path = Path(os.environ.get("LOCAL_STATE_DIR", ROOT / ".local"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def local_secrets(directory: Path) -> dict[str, str]:
    """JWT and data keys generated once per machine, kept readable by the owner only."""
    path = directory / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {"JWT_SECRET": secrets.token_urlsafe(48), "DATA_KEY": secrets.token_urlsafe(48),
              "ADMIN_SECRET": secrets.token_urlsafe(12)}
    path.touch(mode=0o600)
    path.write_text(json.dumps(values, indent=2))
    return values
