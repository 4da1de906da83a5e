"""Deployment of a stage to AWS: package, stack, migrations, dashboard; never shipped to Lambda.

    python -m deploy package  --stage prod    # offline given build/wheelhouse: zip + template + cfn-lint
    python -m deploy deploy   --stage prod    # package, create/update the stack, migrate, upload dashboard
    python -m deploy teardown --stage prod

See DEPLOY.md. Nothing under chalicelib/ imports this package.
"""
