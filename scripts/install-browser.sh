#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser tests (Playwright drives it through
# executable_path; we never let Playwright download a browser build of its own).
# Idempotent: does nothing when /usr/bin/chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "error: /usr/bin/chromium is missing and installing it needs root (apt-get install chromium)" >&2
        exit 1
    fi
fi

echo "installing Debian's chromium (once) ..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
test -x /usr/bin/chromium
/usr/bin/chromium --version
