"""One boot of a twin ESP8266 on MicroPython's unix port (../PROTOCOL.md, "MicroPython runtime").

Started by the rig (through vm_launch.py) in the board's filesystem folder, with a heap sized by `-X heapsize`.
It makes the VM look like the chip to the firmware, then runs boot.py and main.py as the chip's firmware does:
- the board folder is the device's "/" (a VfsPosix mounted there), sys.path is the chip's;
- `machine`, `network`, `esp`, `time`, `socket` are this folder's shims, loaded before the firmware runs and
  counted as the boot's own heap; the frozen modules of the image variant (HIL_FROZEN) import as on the chip;
  modules, functions and constants the unix port has and the ESP8266 build lacks raise the chip's errors;
- the heap left to the firmware is what the chip leaves after boot, scaled to this VM's object sizes
  (HIL_HEAP_FREE bytes here; a ballast takes the rest), and every wake reports its headroom to the rig;
- an uncaught exception prints MicroPython's traceback (no host frames: the code on the firmware's call paths is
  native, which adds none), then the board sits at its REPL, awake, as a chip does.
"""
import builtins
import gc
import micropython
import os
import sys
import vfs

import _hil
import _chip_binascii
import _chip_math
import _chip_random
import esp  # noqa: F401
import machine
import network  # noqa: F401
import socket  # noqa: F401
import time  # noqa: F401

FROZEN_MOUNT = "/.frozen"
# The ESP8266 build's sys.path ('.frozen' is served by FROZEN_MOUNT while a frozen module imports).
CHIP_PATH = ["", "/lib"]
# Names that reach another module than the unix port's: the chip's shape of it.
ALIASES = {
    "math": "_chip_math",
    "binascii": "_chip_binascii",
    "ubinascii": "_chip_binascii",
    "random": "_chip_random",
    "urandom": "_chip_random",
    "usocket": "socket",
    "utime": "time",
}
# Built into the unix port, not into any ESP8266 build.
UNIX_ONLY = ("cmath", "_thread", "argparse", "termios", "platform", "ffi", "jni", "uos_vfs")
# Frozen into the unix port (and the 2 MiB+ ESP8266 image), not into the smaller images.
NOT_FROZEN = {
    "generic": (),
    "flash-1m": ("asyncio", "uasyncio", "umqtt", "ssd1306", "upysh"),
    "flash-512k": ("asyncio", "uasyncio", "umqtt", "ssd1306", "upysh", "mip", "requests", "ntptime", "webrepl"),
}
BANNER = 'MicroPython v1.22.2 on 2024-02-22; ESP module with ESP8266\nType "help()" for more information.\n>>> '
MAX_SOFT_REBOOTS = 20

_import = builtins.__import__
_compile = builtins.compile
_frozen_dir = os.getenv("HIL_FROZEN") or ""
_frozen = set(os.listdir(_frozen_dir)) if _frozen_dir else set()
_blocked = set(UNIX_ONLY) | set(NOT_FROZEN.get(os.getenv("HIL_VARIANT") or "generic", ()))


def _top(name):
    return name.split(".")[0]


@micropython.native
def _chip_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0:
        top = _top(name)
        if top in _blocked:
            raise ImportError("no module named '%s'" % name)
        if name in ALIASES:
            name = ALIASES[name]
        elif name not in sys.modules and (top + ".mpy" in _frozen or top in _frozen):
            return _import_frozen(name, globals, locals, fromlist)
    return _import(name, globals, locals, fromlist, level)


@micropython.native
def _import_frozen(name, globals, locals, fromlist):
    # Mounted only while it imports, so the firmware never sees it in its filesystem.
    vfs.mount(vfs.VfsPosix(_frozen_dir), FROZEN_MOUNT)
    sys.path.insert(1, FROZEN_MOUNT)
    try:
        return _import(name, globals, locals, fromlist, 0)
    finally:
        sys.path.remove(FROZEN_MOUNT)
        vfs.umount(FROZEN_MOUNT)


@micropython.native
def _not_on_chip(name):
    def missing(*args, **kwargs):
        raise NameError("name '%s' isn't defined" % name)

    return missing


_pow = builtins.pow


@micropython.native
def _chip_pow(*args):
    if len(args) == 3:
        raise TypeError("function takes 2 positional arguments but 3 were given")
    return _pow(*args)


def chip_builtins():
    builtins.__import__ = _chip_import
    builtins.pow = _chip_pow
    for name in ("compile", "execfile"):
        setattr(builtins, name, _not_on_chip(name))


def mount_board():
    folder = os.getcwd()
    vfs.umount("/")
    vfs.mount(vfs.VfsPosix(folder), "/")
    os.chdir("/")
    sys.path[:] = CHIP_PATH


def leave_heap(free):
    """Takes all but `free` bytes of the heap for a ballast the firmware cannot reach (kept for the whole boot)."""
    gc.collect()
    ballast = []
    spare = gc.mem_free() - free
    # A bytearray's header and block rounding take a little more: top up until within a block.
    while spare > 64:
        ballast.append(bytearray(spare - 32))
        gc.collect()
        spare = gc.mem_free() - free
    return ballast


@micropython.native
def run_file(path, env):
    try:
        with open(path) as f:
            code = f.read()
    except OSError:
        return
    # Compiled under its own name, so tracebacks say `File "main.py"` as the chip's do.
    code = _compile(code, path, "exec")
    exec(code, env)


@micropython.native
def boot():
    """boot.py then main.py, as the chip runs them; returns when the firmware stops without sleeping."""
    for _ in range(MAX_SOFT_REBOOTS):
        env = {"__name__": "__main__"}
        try:
            run_file("boot.py", env)
            run_file("main.py", env)
            return
        except SystemExit:
            print("MPY: soft reboot")
            for name in list(sys.modules):
                if name not in _preloaded:
                    del sys.modules[name]
        except BaseException as e:  # noqa: B036 - the chip prints whatever ended main.py
            sys.print_exception(e)
            return
    print("twin: %d soft reboots in one boot; the board stops here" % MAX_SOFT_REBOOTS)


def main():
    global _preloaded
    addr = os.getenv("HIL_TWIN_ADDR")
    if not addr:
        sys.stderr.write("hil: HIL_TWIN_ADDR is not set\n")
        sys.exit(2)
    _hil.connect(addr)
    mount_board()
    chip_builtins()
    _preloaded = set(sys.modules)
    ballast = leave_heap(int(os.getenv("HIL_HEAP_FREE") or "0"))
    gc.collect()
    _hil.boot_free = _hil.min_free = gc.mem_free()
    _hil.heap_total = gc.mem_free() + gc.mem_alloc()
    threshold = int(os.getenv("HIL_GC_THRESHOLD") or "0")
    if threshold:
        gc.threshold(threshold)
    machine._boot(_hil.hello(os.getenv("HIL_BOARD") or "twin-0"))
    boot()
    _hil.sample_heap()
    _hil.report_heap()
    del ballast
    print(BANNER, end="")
    _hil.request({"op": "repl"})
    _hil.halt()


_preloaded = set()
main()
