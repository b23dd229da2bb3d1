"""Runs a twin board's REPL code under CPython with the firmware host shims (twin/src/pty_board/host.rs), for
the CPython comparison runtime (the MicroPython VM has its own: ../micropython/repl_host.py).

Started as `python3 -u repl_host.py` in the board's filesystem folder, with the same HIL_* environment as run.py
beside it. One namespace lives as long as the process, as a MicroPython REPL's
globals live until a soft reset. The device's "/" is the board folder.

stdin, from the board: frames `kind(1) len(u32 LE) payload`; kind `x` raw-REPL code, `i` one friendly-REPL
line, `b` run boot.py (after a soft reboot).
stdout, to the board: frames `kind len payload`; `o` output, `e` the uncaught exception in MicroPython's
format, `d` done, `r` machine.reset() asked, `s` machine.soft_reset() asked.
"""
import builtins
import errno
import importlib.util
import os
import signal
import struct
import sys
import traceback

HOST_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.getcwd()
_out = os.fdopen(1, "wb", buffering=0)
_in = os.fdopen(0, "rb", buffering=0)


def frame(kind, payload=b""):
    _out.write(kind + struct.pack("<I", len(payload)) + payload)


class Console:
    """sys.stdout and sys.stderr: one UART on the chip, so both land in the output section."""

    def write(self, s):
        data = s.encode("utf-8", "replace") if isinstance(s, str) else bytes(s)
        if data:
            frame(b"o", data)
        return len(s)

    def flush(self):
        pass

    @property
    def buffer(self):
        return self


def device_path(path):
    # MicroPython's "/" is the board's filesystem, here the board folder; "" is the current folder.
    if path in ("", b""):
        return "." if isinstance(path, str) else b"."
    if isinstance(path, (str, bytes)) and path[:1] in ("/", b"/"):
        root = ROOT if isinstance(path, str) else os.fsencode(ROOT)
        return root + path if len(path) > 1 else root
    return path


def wrap_paths(module, names):
    for name in names:
        real = getattr(module, name)

        def wrapped(*args, _real=real, **kwargs):
            args = tuple(device_path(a) for a in args)
            return _real(*args, **kwargs)

        setattr(module, name, wrapped)


def ilistdir(path="."):
    # MicroPython's (name, type, inode, size) tuples; 0x4000 directory, 0x8000 file.
    for entry in os.scandir(device_path(path)):
        kind = 0x4000 if entry.is_dir() else 0x8000
        yield (entry.name, kind, 0, 0 if kind == 0x4000 else entry.stat().st_size)


def getcwd():
    rel = os.path.relpath(_real_getcwd(), ROOT)
    return "/" if rel == "." else "/" + rel


def micropython_error(exc):
    """The traceback as MicroPython prints it, so hosts (mpremote) recognise OSError codes."""
    lines = ["Traceback (most recent call last):"]
    for fs in traceback.extract_tb(exc.__traceback__):
        if fs.filename == __file__:
            continue
        lines.append('  File "%s", line %d, in %s' % (fs.filename, fs.lineno, fs.name))
    if isinstance(exc, OSError) and exc.errno in errno.errorcode:
        lines.append("OSError: [Errno %d] %s" % (exc.errno, errno.errorcode[exc.errno]))
    else:
        text = str(exc)
        lines.append(type(exc).__name__ + (": " + text if text else ""))
    return ("\n".join(lines) + "\n").encode("utf-8", "replace")


def read_exact(n):
    data = b""
    while len(data) < n:
        chunk = _in.read(n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data


def run(source, mode, namespace):
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        exec(compile(source, "<stdin>", mode), namespace)
    except SystemExit:
        pass
    except BaseException as exc:
        frame(b"e", micropython_error(exc))
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def main():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    spec = importlib.util.spec_from_file_location("hil_run", os.path.join(HOST_DIR, "run.py"))
    host = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(host)
    sys.path[:] = [os.path.join(HOST_DIR, "shims"), ROOT] + [p for p in sys.path if p not in ("", HOST_DIR)]
    import _hil
    import machine

    _hil.open_control(os.environ["HIL_TWIN_ADDR"], os.environ.get("HIL_BOARD", "twin-0"))
    host.patch_time(_hil)
    sys.print_exception = lambda exc, file=None: (file or sys.stdout).write(
        micropython_error(exc).decode()
    )
    sys.stdout = sys.stderr = Console()

    def reset():
        frame(b"r")
        os._exit(0)

    def soft_reset():
        frame(b"s")
        os._exit(0)

    machine.reset = reset
    machine.soft_reset = soft_reset
    os.ilistdir = ilistdir
    os.getcwd = getcwd
    os.sync = lambda: None
    builtins.open = lambda path, *a, _open=builtins.open, **k: _open(device_path(path), *a, **k)
    wrap_paths(os, ["stat", "listdir", "remove", "mkdir", "rmdir", "chdir", "statvfs", "scandir"])
    real_rename = os.rename
    os.rename = lambda a, b: real_rename(device_path(a), device_path(b))

    namespace = {"__name__": "__main__", "__builtins__": builtins}
    while True:
        kind = read_exact(1)
        (length,) = struct.unpack("<I", read_exact(4))
        payload = read_exact(length)
        if kind == b"x":
            run(payload, "exec", namespace)
        elif kind == b"i":
            run(payload, "single", namespace)
        elif kind == b"b" and os.path.exists(os.path.join(ROOT, "boot.py")):
            with open(os.path.join(ROOT, "boot.py"), "rb") as f:
                run(f.read(), "exec", namespace)
        frame(b"d")


_real_getcwd = os.getcwd

if __name__ == "__main__":
    main()
