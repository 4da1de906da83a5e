"""`make package STAGE=...`: the Lambda zip and the CloudFormation template a stage deploys.

Steps (all offline once build/wheelhouse exists):

1. wheelhouse: manylinux x86_64 wheels for the Lambda Python (LAMBDA_PYTHON) of
   requirements.txt, plus Chalice for the packaging interpreter (`python -m deploy wheelhouse`,
   the one step that needs PyPI; `package` runs it when the wheelhouse is missing or stale);
2. a packaging venv on that Python (Chalice takes the Lambda runtime from the interpreter it
   runs on, and imports app.py, so it needs the runtime dependencies installed);
3. `chalice package --merge-template` with the stage's merge template (deploy/template.py),
   PIP_FIND_LINKS=wheelhouse and PIP_NO_INDEX=1;
4. post-processing: replacements a deep merge cannot express, and the policy files'
   `arn:aws:<service>:*:*:` ARNs pinned to the stack's partition, region and account;
5. the SAM template translated locally (aws-sam-translator, as cfn-lint does) into plain
   CloudFormation whose function code comes from the CodeBucket/CodeKey parameters;
6. cfn-lint on both templates: any error or warning fails the build;
7. the IAM cross-check (deploy/iam.py): the code and the declared needs agree.

Output in build/<stage>/: deployment.zip, sam.json (Chalice's SAM), template.json (deployed),
merge-template.json, report.json.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from deploy import iam
from deploy import template as tmpl
from deploy.project import FUNCTIONS, LAMBDA_PYTHON, ROLES, ROOT, Stage

PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64")
PACKAGING_TOOLS = ("chalice==1.32.0", "boto3==1.40.30")
_WILD_ARN = re.compile(r"^arn:aws:([a-z0-9-]+):\*:\*:(.*)$")


class BuildError(SystemExit):
    pass


def wheelhouse_dir(stage: Stage) -> Path:
    return Path(os.environ.get("WHEELHOUSE") or ROOT / "build" / "wheelhouse")


def _inputs_hash(stage: Stage) -> str:
    digest = hashlib.sha256((stage.root / "requirements.txt").read_bytes())
    digest.update(" ".join(PACKAGING_TOOLS + PLATFORMS + (LAMBDA_PYTHON,)).encode())
    return digest.hexdigest()[:16]


def _stamp_ok(stamp: Path, value: str) -> bool:
    return stamp.exists() and stamp.read_text().strip() == value


def ensure_wheelhouse(stage: Stage, log=print) -> Path:
    """Download the wheels once (needs PyPI); later builds are offline."""
    house = wheelhouse_dir(stage)
    stamp = house / ".inputs"
    if _stamp_ok(stamp, _inputs_hash(stage)):
        return house
    house.mkdir(parents=True, exist_ok=True)
    log(f"downloading wheels for Lambda (python {LAMBDA_PYTHON}, manylinux x86_64) into {house}")
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--implementation", "cp",
           "--python-version", LAMBDA_PYTHON, "--dest", str(house), "-r", str(stage.root / "requirements.txt"),
           *PACKAGING_TOOLS]
    for platform in PLATFORMS:
        cmd += ["--platform", platform]
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_NO_INDEX", "PIP_FIND_LINKS")}
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode:
        raise BuildError(f"pip download failed (PyPI unreachable? an existing {house} is reused when its "
                         f"inputs match):\n{result.stderr[-3000:]}")
    stamp.write_text(_inputs_hash(stage))
    return house


def lambda_python() -> str:
    """The interpreter Chalice must run on to package for the Lambda runtime."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [os.environ.get("LAMBDA_PYTHON_BIN"), shutil.which(f"python{LAMBDA_PYTHON}"),
                  *map(str, sorted(pyenv_root.glob(f"versions/{LAMBDA_PYTHON}.*/bin/python{LAMBDA_PYTHON}"),
                                   reverse=True)),
                  f"/usr/bin/python{LAMBDA_PYTHON}", f"/usr/local/bin/python{LAMBDA_PYTHON}"]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == LAMBDA_PYTHON:
            return candidate
    raise BuildError(f"python{LAMBDA_PYTHON} not found: Lambda runs Python {LAMBDA_PYTHON}, and Chalice "
                     "packages for the Python it runs on. Install it (pyenv, or your distribution) or "
                     "point LAMBDA_PYTHON_BIN at it.")


def ensure_packaging_venv(stage: Stage, log=print) -> Path:
    house = ensure_wheelhouse(stage, log)
    venv = ROOT / "build" / f"package-venv-{LAMBDA_PYTHON}"
    stamp = venv / ".inputs"
    python = venv / "bin" / "python"
    if _stamp_ok(stamp, _inputs_hash(stage)) and python.exists():
        return python
    log(f"creating the packaging venv {venv} (offline, from the wheelhouse)")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([lambda_python(), "-m", "venv", str(venv)], check=True)
    install = [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(house),
               *PACKAGING_TOOLS, "-r", str(stage.root / "requirements.txt")]
    result = subprocess.run(install, capture_output=True, text=True)
    if result.returncode:
        raise BuildError(f"installing the packaging venv failed:\n{result.stderr[-3000:]}")
    stamp.write_text(_inputs_hash(stage))
    return python


# What app.py reads at import to declare its SQS event sources.
APP_VARIABLES = ("RETRY_QUEUE_NAME", "INGEST_QUEUE_NAME", "INGEST_BATCH_SIZE", "INGEST_BATCH_WINDOW")


def app_environment(stage: Stage) -> dict[str, str]:
    """APP_VARIABLES for a stage: the queue names (the template then points each mapping at the
    stack's queue by reference) and, when the stage's Chalice config sets them, the ingest
    batching (otherwise app.py's defaults)."""
    env = {"RETRY_QUEUE_NAME": stage.retry_queue, "INGEST_QUEUE_NAME": stage.ingest_queue}
    for name in ("INGEST_BATCH_SIZE", "INGEST_BATCH_WINDOW"):
        value = stage.environment_variable(name)
        if value is not None:
            env[name] = value
    _check_batching(stage.ingest_batch_size, stage.ingest_batch_window)
    return env


def _check_batching(size: int, window: int) -> None:
    """Lambda's limits for a standard queue's event source, checked before CloudFormation refuses
    them halfway through a deploy."""
    if not 1 <= size <= 10_000:
        raise ValueError(f"INGEST_BATCH_SIZE must be 1 to 10000, not {size}")
    if not 0 <= window <= 300:
        raise ValueError(f"INGEST_BATCH_WINDOW must be 0 to 300 seconds, not {window}")
    if size > 10 and window < 1:
        raise ValueError("INGEST_BATCH_SIZE above 10 needs INGEST_BATCH_WINDOW of at least 1 second")


def chalice_package(stage: Stage, merge_file: Path, out: Path, log=print) -> None:
    python = ensure_packaging_venv(stage, log)
    shutil.rmtree(out, ignore_errors=True)
    # Only the stage decides the event sources: a stray INGEST_BATCH_SIZE in the shell must not.
    inherited = {k: v for k, v in os.environ.items() if k not in APP_VARIABLES}
    env = {**inherited, "PIP_FIND_LINKS": str(wheelhouse_dir(stage)), "PIP_NO_INDEX": "1",
           "AWS_DEFAULT_REGION": stage.region, **app_environment(stage)}
    log(f"chalice package --stage {stage.name}")
    result = subprocess.run([str(python.parent / "chalice"), "package", "--stage", stage.name,
                             "--merge-template", str(merge_file), str(out)],
                            cwd=stage.root, env=env, capture_output=True, text=True)
    if result.returncode:
        raise BuildError(f"chalice package failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")


# -- post-processing -----------------------------------------------------------------------


def _set(document: dict, path: tuple[str, ...], value) -> None:
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def pin_arn(resource):
    """`arn:aws:svc:*:*:rest` (policy files work for any account) -> this stack's partition/region/account."""
    if isinstance(resource, list):
        return [pin_arn(r) for r in resource]
    if isinstance(resource, str):
        match = _WILD_ARN.match(resource)
        if match:
            return {"Fn::Sub": f"arn:${{AWS::Partition}}:{match.group(1)}:${{AWS::Region}}:${{AWS::AccountId}}:"
                               f"{match.group(2)}"}
    return resource


def post_process(sam: dict, stage: Stage) -> dict:
    sam = copy.deepcopy(sam)
    missing = [name for name, logical in FUNCTIONS.items() if logical not in sam["Resources"]]
    if missing:
        raise BuildError(f"app.py defines no Lambda function named {', '.join(missing)}: the template wires "
                         "the functions docs/ARCHITECTURE.md lists, by those names")
    for path, value in tmpl.replacements(stage):
        _set(sam, path, value)
    for role in ROLES.values():
        for policy in sam["Resources"][role]["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                statement["Resource"] = pin_arn(statement["Resource"])
    for logical in FUNCTIONS.values():
        runtime = sam["Resources"][logical]["Properties"]["Runtime"]
        if runtime != f"python{LAMBDA_PYTHON}":
            raise BuildError(f"{logical} was packaged for {runtime}, not python{LAMBDA_PYTHON}")
    return sam


def finalize_zip(stage: Stage, chalice_zip: Path, target: Path) -> None:
    """Chalice's zip + migrations/ + bytecode, written reproducibly.

    - migrations/: Chalice ships only app.py, chalicelib/ and vendor/, but the migrate function
      reads ../../migrations from chalicelib/store/migrate.py, i.e. /var/task/migrations.
    - .pyc files (compiled by the Lambda Python, unchecked-hash): /var/task is read-only, so
      without them every cold start compiles every module from source, about twice the import time.
    - sorted entries with a fixed timestamp: the same inputs give the same bytes, so the
      content-addressed upload and the functions change only when the code does.
    """
    work = target.parent / "zip-root"
    shutil.rmtree(work, ignore_errors=True)
    with zipfile.ZipFile(chalice_zip) as zf:
        zf.extractall(work)
    migrations = stage.root / "migrations"
    if migrations.is_dir():
        shutil.copytree(migrations, work / "migrations", dirs_exist_ok=True)
    result = subprocess.run([lambda_python(), "-m", "compileall", "-q", "-j", "0", "--invalidation-mode",
                             "unchecked-hash", str(work)], capture_output=True, text=True)
    if result.returncode:
        raise BuildError(f"compiling the package failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    target.unlink(missing_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(p for p in work.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(work).as_posix(), date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    shutil.rmtree(work)


def translate(sam: dict, region: str) -> dict:
    """SAM -> plain CloudFormation, offline; function code from the CodeBucket/CodeKey parameters."""
    from samtranslator.translator.transform import transform

    class _NoManagedPolicies:  # the template names no managed policies; never ask IAM for them
        def load(self):
            return {}

    sam = copy.deepcopy(sam)
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://code-bucket-parameter/code-key-parameter"
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region  # the translator asks for one; the output holds none
    try:
        cfn = transform(sam, {}, _NoManagedPolicies())
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous
    for resource in cfn["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            resource["Properties"]["Code"] = {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "CodeKey"}}
    cfn["Parameters"] = {
        "CodeBucket": {"Type": "String", "Description": "Bucket holding the Lambda zip (deploy uploads it)"},
        "CodeKey": {"Type": "String", "Description": "Key of the Lambda zip (content-addressed)"},
        **cfn.get("Parameters", {}),
    }
    return cfn


def cfn_lint(*paths: Path) -> list[str]:
    """cfn-lint's findings (errors and warnings); empty means clean."""
    script = Path(sys.executable).parent / "cfn-lint"
    cmd = [str(script) if script.exists() else "cfn-lint", "--format", "parseable", "--", *map(str, paths)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    findings = [line for line in result.stdout.splitlines() if line.strip()]
    if result.returncode and not findings:
        findings = [result.stderr.strip() or f"cfn-lint exited {result.returncode}"]
    return findings


def package(stage: Stage, log=print, lint: bool = True) -> dict:
    started = time.monotonic()
    out = stage.build_dir
    out.mkdir(parents=True, exist_ok=True)
    problems = iam.mismatches(stage.root)
    if problems:
        raise BuildError("the IAM policies no longer match the code:\n  " + "\n  ".join(problems))
    merge_file = out / "merge-template.json"
    merge_file.write_text(json.dumps(tmpl.merge_template(stage), indent=1))
    chalice_out = out / "chalice"
    chalice_package(stage, merge_file, chalice_out, log)
    sam = post_process(json.loads((chalice_out / "sam.json").read_text()), stage)
    (out / "sam.json").write_text(json.dumps(sam, indent=1))
    finalize_zip(stage, chalice_out / "deployment.zip", out / "deployment.zip")
    cfn = translate(sam, stage.region)
    (out / "template.json").write_text(json.dumps(cfn, indent=1))
    findings = cfn_lint(out / "sam.json", out / "template.json") if lint else []
    report = {
        "stage": stage.name,
        "runtime": f"python{LAMBDA_PYTHON}",
        "zip_bytes": (out / "deployment.zip").stat().st_size,
        "zip_files": len(zipfile.ZipFile(out / "deployment.zip").namelist()),
        "template_bytes": (out / "template.json").stat().st_size,
        "resources": len(cfn["Resources"]),
        "cfn_lint": findings,
        "seconds": round(time.monotonic() - started, 1),
    }
    (out / "report.json").write_text(json.dumps(report, indent=1))
    if findings:
        raise BuildError("cfn-lint found problems:\n  " + "\n  ".join(findings))
    log(f"packaged {stage.name}: {out / 'deployment.zip'} ({report['zip_bytes'] / 1e6:.1f} MB), "
        f"{out / 'template.json'} ({report['resources']} resources), cfn-lint clean, {report['seconds']} s")
    return report


def measure_import(stage: Stage, runs: int = 7) -> dict:
    """Cold `import app` from the unzipped package in fresh Lambda-Python interpreters.

    Runs alternate between the package as built (with .pyc) and the same files without
    bytecode (what Chalice alone ships), so that the ratio holds on a noisy machine.
    """
    built = stage.build_dir / "unzipped"
    source_only = stage.build_dir / "unzipped-source-only"
    for target in (built, source_only):
        shutil.rmtree(target, ignore_errors=True)
        with zipfile.ZipFile(stage.build_dir / "deployment.zip") as zf:
            zf.extractall(target)
    for cache in list(source_only.rglob("__pycache__")):
        shutil.rmtree(cache)
    python = lambda_python()
    env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": stage.region, **app_environment(stage)}
    probe = ("import time, sys; t = time.perf_counter(); import app; "
             "print(time.perf_counter() - t, len(sys.modules))")
    timings: dict[Path, list[float]] = {built: [], source_only: []}
    modules = 0
    for _ in range(runs):
        for target in (built, source_only):
            # -B: like read-only /var/task, nothing is written back between runs.
            result = subprocess.run([python, "-I", "-B", "-c",
                                     f"import sys; sys.path.insert(0, {str(target)!r}); {probe}"],
                                    cwd=target, env=env, capture_output=True, text=True)
            if result.returncode:
                raise BuildError(f"import app failed in the package:\n{result.stderr[-3000:]}")
            seconds, count = result.stdout.split()
            timings[target].append(float(seconds))
            modules = int(count)

    def median(values):
        return sorted(values)[len(values) // 2]

    with_pyc, without = median(timings[built]), median(timings[source_only])
    return {"median_s": with_pyc, "min_s": min(timings[built]), "max_s": max(timings[built]),
            "source_only_median_s": without, "source_only_over_built": round(without / with_pyc, 2),
            "modules": modules, "runs": runs}
