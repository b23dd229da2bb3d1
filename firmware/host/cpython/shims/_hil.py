"""The link to the twin bench: control socket and device clock (see ../PROTOCOL.md).

The shims and run.py share this module; the app never imports it.
"""
import json
import os
import socket
import sys
import time

# Kept before run.py patches the time module, which then calls back into these.
_real_time = time.time
_real_sleep = time.sleep

# Without a rig (running by hand) device time starts now at real speed.
EPOCH = float(os.environ.get("HIL_EPOCH") or _real_time())
SPEED = float(os.environ.get("HIL_SPEED") or 1.0)

# Control requests are answered at once by the rig; a silent minute means it is gone.
REPLY_TIMEOUT_S = 60.0

EXIT_CONTROL_LOST = 3

_sock = None
_reader = None


def device_ms():
    """Device milliseconds since HIL_EPOCH (float)."""
    return (_real_time() - EPOCH) * SPEED * 1000.0


# ticks_ms() restarts at 0 on every boot, as on the chip, so the app can measure awake time.
_BOOT_MS = device_ms()


def uptime_ms():
    return device_ms() - _BOOT_MS


def sleep_device_ms(ms):
    if ms > 0:
        _real_sleep(ms / 1000.0 / SPEED)


def flush_console():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def die(message):
    """The bench is gone: report on stderr and end the process without running app handlers."""
    flush_console()
    sys.stderr.write("hil: %s\n" % message)
    sys.stderr.flush()
    os._exit(EXIT_CONTROL_LOST)


def open_control(addr, board):
    global _sock, _reader, _BOOT_MS
    host, _, port = addr.rpartition(":")
    try:
        _sock = socket.create_connection((host, int(port)), timeout=REPLY_TIMEOUT_S)
    except (OSError, ValueError) as e:
        die("cannot reach control socket %s: %s" % (addr, e))
    _reader = _sock.makefile("rb")
    # The rig may start this process ahead of the wake and answer the hello at the wake instant (so
    # CPython's start-up is not counted as awake time): wait as long as the sleep lasts.
    _sock.settimeout(None)
    reply = request({"op": "hello", "board": board})
    _sock.settimeout(REPLY_TIMEOUT_S)
    if not reply.get("ok"):
        die("hello refused: %s" % reply)
    # A held hello carries this boot's reset cause and RTC memory, read by the machine shim.
    for key, name in (("reset_cause", "HIL_RESET_CAUSE"), ("rtc_hex", "HIL_RTC_HEX")):
        if key in reply:
            os.environ[name] = str(reply[key])
    _BOOT_MS = device_ms()


def request(obj):
    """Send one JSON line and return the one JSON line that answers it."""
    if _sock is None:
        die("no control socket (run.py opens it)")
    try:
        _sock.sendall((json.dumps(obj) + "\n").encode())
        line = _reader.readline()
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
