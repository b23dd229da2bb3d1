"""Run one wake of a board's MicroPython app under CPython for the twin bench (see PROTOCOL.md).

Started by the rig as `python3 -u firmware/host/run.py` in the board's filesystem folder.
Exit codes: 0 deep sleep (or the app ended and the board idles at its REPL), 1 uncaught
exception, 2 bad environment, 3 control socket lost, 130 Ctrl-C outside the app's handlers.
"""
import os
import signal
import sys
import time
import traceback

HOST_DIR = os.path.dirname(os.path.abspath(__file__))
SHIMS_DIR = os.path.join(HOST_DIR, "shims")

EXIT_EXCEPTION = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# MicroPython's ticks wrap at 2**30 on every port.
TICKS_PERIOD = 1 << 30
TICKS_MAX = TICKS_PERIOD - 1
TICKS_HALF = TICKS_PERIOD // 2


def ticks_diff(end, start):
    return ((end - start + TICKS_HALF) & TICKS_MAX) - TICKS_HALF


def ticks_add(ticks, delta):
    return (ticks + delta) & TICKS_MAX


def patch_time(hil):
    time.ticks_ms = lambda: int(hil.uptime_ms()) & TICKS_MAX
    time.ticks_us = lambda: int(hil.uptime_ms() * 1000) & TICKS_MAX
    time.ticks_diff = ticks_diff
    time.ticks_add = ticks_add
    time.sleep_ms = hil.sleep_device_ms
    time.sleep_us = lambda us: hil.sleep_device_ms(us / 1000.0)
    time.sleep = lambda s: hil.sleep_device_ms(s * 1000.0)


def print_exception(exc, file=None):
    # MicroPython's sys.print_exception; tracebacks go to stderr on the twin (PROTOCOL.md).
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=file or sys.stderr)


def run_file(name, env):
    path = os.path.join(os.getcwd(), name)
    if not os.path.exists(path):
        return
    with open(path) as f:
        source = f.read()
    env["__file__"] = path
    exec(compile(source, path, "exec"), env)


def main():
    addr = os.environ.get("HIL_TWIN_ADDR")
    if not addr:
        sys.stderr.write("hil: HIL_TWIN_ADDR is not set\n")
        return EXIT_USAGE
    sys.stdout.reconfigure(line_buffering=True)
    # The shims come first so `machine`, `network` and `esp` resolve to them, then the board's files.
    sys.path[:] = [SHIMS_DIR, os.getcwd()] + [p for p in sys.path if p not in ("", HOST_DIR)]
    import _hil

    _hil.open_control(addr, os.environ.get("HIL_BOARD", "twin-0"))
    patch_time(_hil)
    sys.print_exception = print_exception
    # Ctrl-C on the console arrives as SIGINT; a parent that spawned us in the background may
    # have left it ignored, and the maintenance window needs it as KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # boot.py and main.py share one namespace, as in MicroPython.
    env = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        run_file("boot.py", env)
        run_file("main.py", env)
    except KeyboardInterrupt:
        _hil.flush_console()
        return EXIT_INTERRUPTED
    except SystemExit as e:
        _hil.flush_console()
        return e.code if isinstance(e.code, int) else EXIT_EXCEPTION
    except BaseException as e:
        print_exception(e)
    # The firmware stopped without sleeping: the board sits at its REPL (PROTOCOL.md, `repl`).
    _hil.flush_console()
    _hil.request({"op": "repl"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
