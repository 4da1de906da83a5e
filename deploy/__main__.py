"""python -m deploy {wheelhouse,package,deploy,teardown,migrate,dashboard,template,report} --stage NAME"""
from __future__ import annotations

import argparse
import json
import sys

from deploy.project import load_stage, stage_names


def _params(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--param takes Key=Value, not {pair!r}")
        out[key] = value
    return out


def _confirm(stage: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise SystemExit(f"teardown of {stage} needs --yes (or YES=1 with make) when not run interactively")
    if input(f"This deletes stage {stage!r} and its data. Type the stage name to confirm: ").strip() != stage:
        raise SystemExit("not confirmed; nothing deleted")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    parser.add_argument("command", choices=["wheelhouse", "package", "deploy", "teardown", "migrate", "dashboard",
                                            "template", "report"])
    parser.add_argument("--stage", default="dev", help=f"one of {', '.join(stage_names())}")
    parser.add_argument("--region", help="overrides deploy/stages/<stage>.json")
    parser.add_argument("--param", action="append", default=[], metavar="Key=Value",
                        help="stack parameter override (deploy), repeatable")
    parser.add_argument("--skip-package", action="store_true", help="deploy build/<stage> as it is")
    parser.add_argument("--yes", action="store_true", help="teardown without asking")
    args = parser.parse_args(argv)
    stage = load_stage(args.stage, region=args.region)

    if args.command == "wheelhouse":
        from deploy import build

        print(build.ensure_wheelhouse(stage))
    elif args.command == "package":
        from deploy import build

        build.package(stage)
    elif args.command == "template":
        from deploy.template import merge_template

        json.dump(merge_template(stage), sys.stdout, indent=1)
    elif args.command == "report":
        from deploy import build

        report = json.loads((stage.build_dir / "report.json").read_text())
        report["import_app"] = build.measure_import(stage)
        print(json.dumps(report, indent=1))
    elif args.command == "deploy":
        from deploy import stack

        stack.deploy(stage, package=not args.skip_package, overrides=_params(args.param))
    elif args.command == "teardown":
        from deploy import stack

        _confirm(stage.name, args.yes)
        stack.teardown(stage)
    else:  # migrate / dashboard against an existing stack
        from deploy import dashboard, stack

        session = stack.session_for(stage)
        cfn = session.client("cloudformation")
        described = cfn.describe_stacks(StackName=stage.stack_name)["Stacks"][0]
        outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in described.get("Outputs", [])}
        if args.command == "migrate":
            stack.run_migrations(session, outputs["MigrateFunctionName"])
        else:
            dashboard.upload(session, outputs["DashboardBucketName"], outputs["ApiUrl"],
                             distribution_id=outputs.get("DashboardDistributionId", ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
