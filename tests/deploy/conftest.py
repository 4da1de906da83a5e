"""Fixtures for the deployment tests: a packaged stage (once per session) and a moto account."""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from deploy.project import FUNCTIONS, ROOT, load_stage

FIXTURES = Path(__file__).parent / "fixtures"


def missing_functions(app_py: Path) -> list[str]:
    """Lambda functions docs/ARCHITECTURE.md names that app.py does not define (yet)."""
    tree = ast.parse(app_py.read_text())
    named = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "name" and isinstance(kw.value, ast.Constant):
                    named.add(kw.value.value)
    return [f for f in FUNCTIONS if f != "api_handler" and f not in named]


def _shim_project(tmp: Path, missing: list[str]) -> Path:
    """A copy of the project whose app.py gains a stub for each missing function, so the template's
    wiring of all five can be checked before the lead's handlers land (the stubs never ship)."""
    for name in ("app.py", "requirements.txt"):
        shutil.copy(ROOT / name, tmp / name)
    for name in ("chalicelib", "migrations", "iot_rules", ".chalice"):
        shutil.copytree(ROOT / name, tmp / name, ignore=shutil.ignore_patterns("__pycache__", "deployments"))
    stubs = ["\n\n# -- test stubs (tests/deploy/conftest.py): handlers app.py does not define yet --\n"]
    for name in missing:
        stubs.append(f'\n@app.lambda_function(name="{name}")\ndef {name}(event, context):\n    return None\n')
    with (tmp / "app.py").open("a") as f:
        f.write("".join(stubs))
    return tmp


@pytest.fixture(scope="session")
def project_root(tmp_path_factory) -> Path:
    missing = missing_functions(ROOT / "app.py")
    if not missing:
        return ROOT
    import warnings

    warnings.warn(f"app.py does not define {missing} yet: packaging a copy with stubs for them", stacklevel=1)
    return _shim_project(tmp_path_factory.mktemp("project"), missing)


_packaged: dict[str, dict] = {}


def packaged_stage(name: str, root: Path):
    """build.package() for a stage, once per session; skipped (with the reason) only where it cannot run."""
    from deploy import build

    if name not in _packaged:
        try:
            build.lambda_python()
        except SystemExit as exc:
            pytest.skip(f"packaging needs the Lambda runtime's Python: {exc}")
        stage = load_stage(name, root=root)
        try:
            build.ensure_wheelhouse(stage, log=lambda *_: None)
        except SystemExit as exc:
            pytest.skip(f"no wheelhouse and PyPI unreachable, so nothing to package from: {exc}")
        _packaged[name] = build.package(stage, log=lambda *_: None)
    return load_stage(name, root=root), _packaged[name]


@pytest.fixture(scope="session")
def dev_build(project_root):
    return packaged_stage("dev", project_root)


@pytest.fixture(scope="session")
def prod_build(project_root):
    return packaged_stage("prod", project_root)


@pytest.fixture
def aws(monkeypatch):
    """A moto account in us-east-1, whatever the surrounding environment points at."""
    from moto import mock_aws

    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield
