#!/usr/bin/env bash
# Build the one-folder app bundle dist/metalearn-gui/ with PyInstaller, then smoke-test it:
# it starts offscreen, runs a few genetic and gradient steps and must exit 0.
# Prints the build time and the bundle's size.
#
#   pip install -e ".[bundle]"            # the app and PyInstaller, in the venv you build from
#   packaging/build_bundle.sh             # PYTHON=/path/to/venv/bin/python to pick another
#
# About 4 minutes on 2 cores; the bundle is ~1.2 GB, most of it TensorFlow's own libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
bundle=dist/metalearn-gui
log=build/pyinstaller.log

if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
  echo "build_bundle: PyInstaller is missing: $PYTHON -m pip install -e '.[bundle]'" >&2
  exit 2
fi

mkdir -p build
started=$(date +%s)
if ! "$PYTHON" -m PyInstaller --noconfirm --distpath dist --workpath build/pyinstaller \
    packaging/metalearn-gui.spec >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "build_bundle: PyInstaller failed; full log in $log" >&2
  exit 1
fi
build_seconds=$(($(date +%s) - started))
# PyInstaller only logs a module it cannot find; the app would fail on first use of it.
if grep -E "ERROR: Hidden import .* not found" "$log" >&2; then
  echo "build_bundle: modules missing from the bundle (above); full log in $log" >&2
  exit 1
fi

# Run it as a user would: from elsewhere, with nothing of the source tree or venv in reach.
elsewhere=$(mktemp -d)
trap 'rm -rf "$elsewhere"' EXIT
exe=$PWD/$bundle/metalearn-gui
smoke_log=$PWD/build/bundle-smoke.log
(
  cd "$elsewhere"
  env -u PYTHONPATH -u VIRTUAL_ENV QT_QPA_PLATFORM=offscreen "$exe" --version
  env -u PYTHONPATH -u VIRTUAL_ENV QT_QPA_PLATFORM=offscreen "$exe" --smoke 2>&1 | tee "$smoke_log"
)
# Exit 0 is not enough: TensorFlow only warns when a frozen app hides the source it needs.
if grep -q "AutoGraph could not transform" "$smoke_log"; then
  echo "build_bundle: AutoGraph found no source code in the bundle (see $smoke_log)" >&2
  exit 1
fi

echo "bundle: $bundle ($(du -sh "$bundle" | cut -f1)), built in ${build_seconds} s"
