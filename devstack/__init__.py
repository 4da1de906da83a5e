"""The local stack and developer tools. Never shipped to Lambda (see requirements-dev.txt)."""
