"""The Lambda package: what is in it, how big it is, how long `import app` takes cold.

Numbers are printed (run with -s) and kept in build/<stage>/report.json; the only limits
asserted are AWS's own (50 MB zipped for a direct upload, 250 MB unzipped).
"""
from __future__ import annotations

import copy
import dataclasses
import json
import os
import subprocess
import sys
import zipfile

import pytest

from deploy import build
from deploy import template as tmpl
from deploy.project import INGEST_BATCH_SIZE, INGEST_BATCH_WINDOW, ROOT, load_stage, stage_names


def test_the_zip_holds_the_app_and_its_runtime_dependencies_only(dev_build):
    stage, report = dev_build
    with zipfile.ZipFile(stage.build_dir / "deployment.zip") as zf:
        names = zf.namelist()
        unzipped = sum(i.file_size for i in zf.infolist())
    tops = {n.split("/")[0] for n in names}
    assert {"app.py", "chalicelib", "psycopg", "pydantic", "aws_lambda_powertools"} <= tops
    # migrate reads /var/task/migrations: every file of migrations/ must be there.
    shipped = {n.split("/", 1)[1] for n in names if n.startswith("migrations/")}
    assert shipped == {p.name for p in (stage.root / "migrations").glob("*.sql")}
    assert "__pycache__/app.cpython-313.pyc" in names  # bytecode ships: /var/task is read-only
    for banned in ("moto", "pytest", "boto3", "botocore", "deploy", "devstack", "tests", "amqtt"):
        assert banned not in tops, f"{banned} must not ship in Lambda"
    assert report["zip_bytes"] < 50 * 1024 * 1024 and unzipped < 250 * 1024 * 1024
    print(f"\nLambda zip: {report['zip_bytes'] / 1e6:.2f} MB zipped, {unzipped / 1e6:.1f} MB unzipped, "
          f"{report['zip_files']} files")


def test_cold_import_time_of_app(dev_build):
    stage, report = dev_build
    timing = build.measure_import(stage, runs=3)
    report = {**report, "import_app": timing}
    (stage.build_dir / "report.json").write_text(json.dumps(report, indent=1))
    assert timing["modules"] > 0
    print(f"\ncold `import app` (python {build.LAMBDA_PYTHON}, from the zip as built): median "
          f"{timing['median_s'] * 1000:.0f} ms (min {timing['min_s'] * 1000:.0f}, max {timing['max_s'] * 1000:.0f}) "
          f"over {timing['runs']} fresh interpreters, {timing['modules']} modules; without the .pyc files "
          f"{timing['source_only_median_s'] * 1000:.0f} ms ({timing['source_only_over_built']}x)")


@pytest.mark.parametrize("stage_name", stage_names())
def test_stage_config_names_the_queues_the_stack_creates(stage_name):
    stage = load_stage(stage_name)
    assert stage.environment_variable("RETRY_QUEUE_NAME") == stage.retry_queue
    assert stage.environment_variable("INGEST_QUEUE_NAME") == stage.ingest_queue


def test_app_py_gets_the_queue_names_and_the_stage_batching_at_package_time():
    stage = load_stage("dev")
    assert build.app_environment(stage) == {"RETRY_QUEUE_NAME": "choovio-iot-dev-retry",
                                            "INGEST_QUEUE_NAME": "choovio-iot-dev-ingest"}
    chalice = copy.deepcopy(stage.chalice)
    chalice["stages"]["dev"]["environment_variables"]["INGEST_BATCH_SIZE"] = "500"
    chalice["stages"]["dev"]["lambda_functions"]["ingest"]["environment_variables"] = {"INGEST_BATCH_WINDOW": 5}
    batched = dataclasses.replace(stage, chalice=chalice)
    assert build.app_environment(batched) == {"RETRY_QUEUE_NAME": "choovio-iot-dev-retry",
                                              "INGEST_QUEUE_NAME": "choovio-iot-dev-ingest",
                                              "INGEST_BATCH_SIZE": "500", "INGEST_BATCH_WINDOW": "5"}
    # The ingest queue's visibility timeout counts the window the stage chose.
    assert tmpl.visibility_timeout(batched, "ingest") == 6 * stage.timeout("ingest") + 5


@pytest.mark.parametrize("variables, problem", [
    ({"INGEST_BATCH_SIZE": "100", "INGEST_BATCH_WINDOW": "0"}, "at least 1 second"),
    ({"INGEST_BATCH_SIZE": "0"}, "1 to 10000"),
    ({"INGEST_BATCH_SIZE": "20000"}, "1 to 10000"),
    ({"INGEST_BATCH_WINDOW": "301"}, "0 to 300"),
])
def test_batching_lambda_would_refuse_stops_the_package_early(variables, problem):
    stage = load_stage("dev")
    chalice = copy.deepcopy(stage.chalice)
    chalice["stages"]["dev"]["environment_variables"].update(variables)
    with pytest.raises(ValueError, match=problem):
        build.app_environment(dataclasses.replace(stage, chalice=chalice))


def test_ten_or_fewer_messages_may_go_without_a_window():
    stage = load_stage("dev")
    chalice = copy.deepcopy(stage.chalice)
    chalice["stages"]["dev"]["environment_variables"].update({"INGEST_BATCH_SIZE": "10", "INGEST_BATCH_WINDOW": "0"})
    assert build.app_environment(dataclasses.replace(stage, chalice=chalice))["INGEST_BATCH_WINDOW"] == "0"


def test_the_stage_defaults_for_ingest_batching_are_app_py_defaults():
    env = {k: v for k, v in os.environ.items() if k not in ("INGEST_BATCH_SIZE", "INGEST_BATCH_WINDOW")}
    out = subprocess.run([sys.executable, "-c", "import json, app; print(json.dumps("
                          "[app.INGEST_BATCH_SIZE, app.INGEST_BATCH_WINDOW]))"],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    assert json.loads(out.splitlines()[-1]) == [INGEST_BATCH_SIZE, INGEST_BATCH_WINDOW]
