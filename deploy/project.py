"""Where things are and what they are called, per stage.

Every name a stage's resources get is derived here once, so that the Chalice policy
files, the CloudFormation template and the deploy commands agree on it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_NAME = "choovio-iot"
# Chalice function names (docs/ARCHITECTURE.md) -> logical ids in the packaged template.
FUNCTIONS = {
    "api_handler": "APIHandler",
    "ingest": "Ingest",
    "retry": "Retry",
    "iot_authorizer": "IotAuthorizer",
    "migrate": "Migrate",
}
ROLES = {name: "ApiHandlerRole" if name == "api_handler" else f"{logical}Role"
         for name, logical in FUNCTIONS.items()}
LOG_GROUPS = {name: "ApiHandlerLogGroup" if name == "api_handler" else f"{logical}LogGroup"
              for name, logical in FUNCTIONS.items()}
RETRY_EVENT_SOURCE = "RetrySqsEventSource"
INGEST_EVENT_SOURCE = "IngestSqsEventSource"
# app.py's defaults when the stage sets no INGEST_BATCH_SIZE / INGEST_BATCH_WINDOW (checked against
# Lambda's limits at package time; the ingest queue's visibility counts the window).
INGEST_BATCH_SIZE = 100
INGEST_BATCH_WINDOW = 1
# Lambda on Python 3.11 runs on Amazon Linux 2, whose runtime AWS closed to new functions in 2026:
# the functions run on 3.13 (Amazon Linux 2023), the newest runtime Chalice 1.32 packages for.
LAMBDA_PYTHON = "3.13"


@dataclass(frozen=True)
class Stage:
    """One stage: its Chalice settings, its stack parameters and every resource name."""

    name: str
    region: str
    chalice: dict  # the merged .chalice/config.json view for this stage
    parameters: dict = field(default_factory=dict)
    root: Path = ROOT

    # -- names ---------------------------------------------------------------

    @property
    def prefix(self) -> str:
        return f"{APP_NAME}-{self.name}"

    @property
    def stack_name(self) -> str:
        return self.prefix

    def function_name(self, function: str) -> str:
        return f"{self.prefix}-{function}"

    @property
    def backup_table(self) -> str:
        return f"{self.prefix}-backup"

    @property
    def retry_queue(self) -> str:
        return f"{self.prefix}-retry"

    @property
    def ingest_queue(self) -> str:
        return f"{self.prefix}-ingest"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.prefix}-retry-dlq"

    def secret_name(self, what: str) -> str:
        return f"{APP_NAME}/{self.name}/{what}"

    @property
    def authorizer_name(self) -> str:
        return f"{self.prefix}-authorizer"

    @property
    def build_dir(self) -> Path:
        return self.root / "build" / self.name

    # -- Chalice settings ------------------------------------------------------

    def function_setting(self, function: str, key: str, default=None):
        """A Chalice setting as Chalice resolves it: function in stage, stage, top level."""
        stage = self.chalice["stages"][self.name]
        for scope in (stage.get("lambda_functions", {}).get(function, {}), stage, self.chalice):
            if key in scope:
                return scope[key]
        return default

    def environment_variable(self, name: str, function: str = "ingest") -> str | None:
        """A variable of the stage's Chalice environment (Chalice merges: function over stage over top)."""
        stage = self.chalice["stages"][self.name]
        for scope in (stage.get("lambda_functions", {}).get(function, {}), stage, self.chalice):
            value = scope.get("environment_variables", {}).get(name)
            if value is not None:
                return str(value)
        return None

    @property
    def ingest_batch_size(self) -> int:
        return int(self.environment_variable("INGEST_BATCH_SIZE") or INGEST_BATCH_SIZE)

    @property
    def ingest_batch_window(self) -> int:
        return int(self.environment_variable("INGEST_BATCH_WINDOW") or INGEST_BATCH_WINDOW)

    def timeout(self, function: str) -> int:
        return int(self.function_setting(function, "lambda_timeout", 60))

    def reserved_concurrency(self, function: str) -> int | None:
        value = self.function_setting(function, "reserved_concurrency")
        return None if value is None else int(value)

    def policy_file(self, function: str) -> Path:
        name = self.function_setting(function, "iam_policy_file", f"policy-{self.name}.json")
        return self.root / ".chalice" / name

    def policy(self, function: str) -> dict:
        return json.loads(self.policy_file(function).read_text())

    @property
    def subnet_ids(self) -> list[str]:
        return list(self.function_setting("api_handler", "subnet_ids", []))

    @property
    def security_group_ids(self) -> list[str]:
        return list(self.function_setting("api_handler", "security_group_ids", []))


def stage_names(root: Path = ROOT) -> list[str]:
    return sorted(json.loads((root / ".chalice" / "config.json").read_text())["stages"])


def load_stage(name: str, root: Path = ROOT, region: str | None = None) -> Stage:
    chalice = json.loads((root / ".chalice" / "config.json").read_text())
    if name not in chalice.get("stages", {}):
        raise SystemExit(f"unknown stage {name!r}: .chalice/config.json has {sorted(chalice.get('stages', {}))}")
    params_file = Path(__file__).resolve().parent / "stages" / f"{name}.json"
    settings = json.loads(params_file.read_text()) if params_file.exists() else {}
    # An explicit --region, then the stage file: a stray AWS_DEFAULT_REGION must not move prod.
    region = region or settings.get("region") or os.environ.get("AWS_REGION") \
        or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return Stage(name=name, region=region, chalice=chalice, parameters=dict(settings.get("parameters", {})),
                 root=root)
