"""The link to the twin bench for MicroPython's unix port: control socket, device clock, heap (../PROTOCOL.md).

The shims and hil_main.py share it; the firmware never imports it. Every function the firmware can reach through a
shim is @micropython.native: native code adds no traceback entry, so an error raised here reads on the console as
the chip's built-in raised it, with no host path.
"""
import gc
import json
import micropython
import os
import usocket as _socket
import sys
import utime as _utime

# Without a rig (by hand) device time starts now at real speed.
EPOCH_NS = int(float(os.getenv("HIL_EPOCH") or "0") * 1e9) or _utime.time_ns()
SPEED = float(os.getenv("HIL_SPEED") or "1")

EXIT_CONTROL_LOST = 3

_sock = None
_boot_ns = _utime.time_ns()
# /proc/self/schedstat, opened before the board's folder becomes "/"; None where the kernel keeps no such file.
_schedstat = None
# This process's time on a CPU and waiting for one (ns) when it asked for its wake.
_host_ns_at_hello = None
# Heap: what the firmware had free when boot.py started, and the least free seen since (after a collection).
boot_free = 0
min_free = 0
heap_total = 0


@micropython.native
def device_ns():
    return int((_utime.time_ns() - EPOCH_NS) * SPEED)


@micropython.native
def uptime_ms():
    """Device milliseconds since this boot (the hello's answer), as ticks_ms counts them on the chip."""
    return (_utime.time_ns() - _boot_ns) * SPEED / 1e6


@micropython.native
def sleep_device_ms(ms):
    if ms > 0:
        _utime.sleep_us(int(ms * 1000 / SPEED))


@micropython.native
def sample_heap():
    """Collects and notes the free heap: the least of these during a wake is its headroom."""
    global min_free
    gc.collect()
    free = gc.mem_free()
    if free < min_free:
        min_free = free


def die(message):
    """The bench is gone: say so on stderr and stop without running the firmware's handlers."""
    sys.stderr.write("hil: %s\n" % message)
    while True:
        _utime.sleep(3600)


def host_ns():
    """Nanoseconds this process has run on a CPU or waited in the run queue for one (Linux schedstat): the host's
    share of a wake, which device time stretches by the speed; None where unknown."""
    if _schedstat is None:
        return None
    try:
        _schedstat.seek(0)
        run, wait = _schedstat.read().split()[:2]
        return int(run) + int(wait)
    except (OSError, ValueError, MemoryError):
        return None


def stretch_ms():
    """Device milliseconds the host spent on this wake since its hello (its CPU and run-queue time times the
    speed): awake time a host that falls behind adds. None where unknown."""
    now = host_ns()
    if now is None or _host_ns_at_hello is None:
        return None
    return (now - _host_ns_at_hello) * SPEED / 1e6


def connect(addr):
    global _sock, _schedstat
    try:
        _schedstat = open("/proc/self/schedstat")
    except OSError:
        _schedstat = None
    host, port = addr.rsplit(":", 1)
    try:
        info = _socket.getaddrinfo(host, int(port))[0]
        _sock = _socket.socket(info[0], _socket.SOCK_STREAM)
        _sock.connect(info[-1])
    except OSError as e:
        sys.stderr.write("hil: cannot reach control socket %s: %s\n" % (addr, e))
        sys.exit(EXIT_CONTROL_LOST)


def hello(board):
    """Waits for the wake (the rig answers at its instant, so the VM's start-up is not awake time); returns the
    answer: this boot's reset cause and RTC memory."""
    global _boot_ns, _host_ns_at_hello
    # Before the hello is answered: waiting for a CPU once the answer arrives is the host's, not the chip's.
    _host_ns_at_hello = host_ns()
    reply = request({"op": "hello", "board": board})
    if not reply.get("ok"):
        die("hello refused: %s" % reply)
    _boot_ns = _utime.time_ns()
    return reply


@micropython.native
def request(obj):
    """Sends one JSON line and returns the one JSON line that answers it."""
    if _sock is None:
        die("no control socket")
    try:
        _sock.write(json.dumps(obj) + "\n")
        line = _sock.readline()
    except OSError as e:
        die("control socket failed during %s: %s" % (obj.get("op"), e))
    if not line:
        die("control socket closed during %s" % obj.get("op"))
    try:
        reply = json.loads(line)
    except ValueError:
        die("bad control reply to %s: %r" % (obj.get("op"), line[:200]))
    if not isinstance(reply, dict):
        die("bad control reply to %s: %r" % (obj.get("op"), line[:200]))
    return reply


def report_heap():
    request({"op": "heap", "boot_free": boot_free, "min_free": min_free, "heap": heap_total})


@micropython.native
def halt():
    """The chip stops here (deep sleep, reset): the rig ends this process; nothing after it runs."""
    while True:
        _utime.sleep(3600)
