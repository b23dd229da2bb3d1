"""The chip as MicroPython's unix port shows it to code run on a twin board: what hil_main.py (a boot of the
firmware) and repl_host.py (code typed at the board's REPL) both set up (../PROTOCOL.md, "MicroPython runtime").

- the board folder is the device's "/" (a VfsPosix mounted there), sys.path is the chip's;
- `machine`, `network`, `esp`, `time`, `socket` are this folder's shims, loaded before the firmware runs and
  counted as the boot's own heap; the frozen modules of the image variant (HIL_FROZEN) import as on the chip;
  modules, functions and constants the unix port has and the ESP8266 build lacks raise the chip's errors;
- the heap left to the firmware is what the chip leaves after boot, scaled to this VM's object sizes
  (HIL_HEAP_FREE bytes here; a ballast takes the rest), and every wake reports its headroom to the rig.
Code on the firmware's call paths is native, which adds no traceback entry: tracebacks carry no host frames.
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

# The types ilistdir and stat give a directory and a file; the chip's epoch (2000-01-01) in Unix seconds.
DIR = 0x4000
FILE = 0x8000
EPOCH_2000 = 946684800
# Pieces the heap's ballast may take: the holes a set-up leaves, and the big blocks around them.
BALLAST_PIECES = 512
# A bytearray's header and block rounding take a little more than asked: the last pieces top up to within a block.
TOP_UPS = 4

_import = builtins.__import__
# The VM's own compile: the chip has none (chip_builtins hides it), the host code needs it.
vm_compile = builtins.compile
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


class ChipFs:
    """The board folder as the chip's FAT filesystem shows it: `ilistdir` gives (name, type, 0, size), `stat` the
    type without permissions, no host inode, owner or link count, and times since 2000 (the chip's epoch). Native methods add no traceback
    entry: an error reads as the filesystem's own."""

    def __init__(self, folder):
        self._fs = vfs.VfsPosix(folder)

    def mount(self, readonly, mkfs):
        self._fs.mount(readonly, mkfs)

    def umount(self):
        self._fs.umount()

    @micropython.native
    def open(self, path, mode):
        return self._fs.open(path, mode)

    @micropython.native
    def ilistdir(self, path):
        entries = []
        for entry in self._fs.ilistdir(path):
            name, kind = entry[0], entry[1]
            size = 0 if kind == DIR else self._fs.stat(path.rstrip("/") + "/" + name if path else name)[6]
            entries.append((name, kind, 0, size))
        return iter(entries)

    @micropython.native
    def stat(self, path):
        st = self._fs.stat(path)
        mtime = max(0, st[8] - EPOCH_2000)
        if st[0] & DIR:
            return (DIR, 0, 0, 0, 0, 0, 0, mtime, mtime, mtime)
        return (FILE, 0, 0, 0, 0, 0, st[6], mtime, mtime, mtime)

    @micropython.native
    def statvfs(self, path):
        return self._fs.statvfs(path)

    @micropython.native
    def chdir(self, path):
        self._fs.chdir(path)

    @micropython.native
    def getcwd(self):
        return self._fs.getcwd()

    @micropython.native
    def mkdir(self, path):
        self._fs.mkdir(path)

    @micropython.native
    def remove(self, path):
        self._fs.remove(path)

    @micropython.native
    def rename(self, old, new):
        self._fs.rename(old, new)

    @micropython.native
    def rmdir(self, path):
        self._fs.rmdir(path)


def mount_board():
    folder = os.getcwd()
    vfs.umount("/")
    vfs.mount(ChipFs(folder), "/")
    os.chdir("/")
    sys.path[:] = CHIP_PATH


def _fill_holes(free):
    """A ballast filling the heap's holes and every block but the `free` bytes a placeholder holds."""
    gc.collect()
    # Room for every piece up front: a list that grew would leave its old storage free among the ballast.
    ballast = [None] * BALLAST_PIECES
    # First fit puts it in the first free block that holds it: past the set-up's holes, which are smaller.
    placeholder = bytearray(max(16, free - 32))
    size = gc.mem_free()
    for i in range(BALLAST_PIECES - TOP_UPS):
        while size > 64 and gc.mem_free() > 64:
            try:
                ballast[i] = bytearray(min(size, gc.mem_free()) - 32)
                break
            except MemoryError:
                size //= 2
        else:
            break
    return ballast


def leave_heap(free):
    """Takes all but `free` bytes of the heap for a ballast the firmware cannot reach (kept for the whole boot).
    The bytes left are one block, as the chip's boot leaves its heap (a few objects low, the rest free): a
    placeholder holds them while the ballast fills the holes the set-up left, in pieces that shrink to fit."""
    # Filled in a call of its own: the placeholder and what the filling raised are garbage once it returns.
    ballast = _fill_holes(free)
    # Holes too small for a piece are free too: the block gives that much back.
    for i in range(BALLAST_PIECES - TOP_UPS, BALLAST_PIECES):
        gc.collect()
        spare = gc.mem_free() - free
        if spare <= 64:
            break
        ballast[i] = bytearray(spare - 32)
    return ballast


@micropython.native
def run_file(path, env):
    try:
        with open(path) as f:
            code = f.read()
    except OSError:
        return
    # Compiled under its own name, so tracebacks say `File "main.py"` as the chip's do.
    code = vm_compile(code, path, "exec")
    exec(code, env)


def setup():
    """Makes this VM the board's chip for the code run after it: the control socket, the board folder as "/", the
    chip's builtins and imports, the heap the chip leaves, then this boot's reset cause and RTC memory (the
    hello, answered at the wake instant). Returns the ballast, to be kept for as long as that code runs."""
    addr = os.getenv("HIL_TWIN_ADDR")
    if not addr:
        sys.stderr.write("hil: HIL_TWIN_ADDR is not set\n")
        sys.exit(2)
    _hil.connect(addr)
    mount_board()
    chip_builtins()
    ballast = leave_heap(int(os.getenv("HIL_HEAP_FREE") or "0"))
    gc.collect()
    _hil.boot_free = _hil.min_free = gc.mem_free()
    _hil.heap_total = gc.mem_free() + gc.mem_alloc()
    threshold = int(os.getenv("HIL_GC_THRESHOLD") or "0")
    if threshold:
        gc.threshold(threshold)
    machine._boot(_hil.hello(os.getenv("HIL_BOARD") or "twin-0"))
    return ballast
