#!/usr/bin/env bash
# Re-fetch the dashboard's vendored chart library from npm at the pinned version and copy its dist
# files into dashboard_static/vendor/ (see dashboard_static/vendor/README.md). Reproducible: the
# tarball's integrity must match the pinned value, so the copied files are byte-identical.
set -euo pipefail
cd "$(dirname "$0")/.."

NAME=uplot
VERSION=1.6.32
INTEGRITY="sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw=="
DEST=dashboard_static/vendor/uplot

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$NAME@$VERSION" >/dev/null)
tarball="$work/$NAME-$VERSION.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$INTEGRITY" ]; then
    echo "error: $NAME@$VERSION tarball integrity $actual does not match the pinned $INTEGRITY" >&2
    exit 1
fi
tar -xzf "$tarball" -C "$work"
mkdir -p "$DEST"
cp "$work/package/dist/uPlot.esm.js" "$work/package/dist/uPlot.min.css" "$work/package/LICENSE" "$DEST/"
echo "vendored $NAME@$VERSION into $DEST"
