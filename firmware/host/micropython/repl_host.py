"""Runs the code typed at a twin board's REPL on MicroPython's unix port (twin/src/pty_board/host.rs).

Started through `../vm_launch.py SITE HEAP repl_host.py --framed` in the board's folder with the app's environment,
so the code sees the chip as the firmware does (hil_chip.py): its modules, the board folder as "/", its heap. One
namespace lives as long as the process, as a MicroPython REPL's globals live until a soft reset.

stdin, from the board: frames `kind(1) len(u32 LE) payload`; kind `x` raw-REPL code, `i` one friendly-REPL line,
`b` run boot.py (after a soft reboot).
stdout, to the board (vm_launch.py --framed): `o` what the code printed (the VM's own stdout and stderr), and the
frames written here to HIL_FRAMES_FD: `e` the uncaught exception as MicroPython prints it, `d` done, `r`
machine.reset() asked, `s` a soft reset asked (machine.soft_reset() or an uncaught SystemExit, as on the chip).
"""
import io
import micropython
import os
import sys

import _hil
import hil_chip
import machine

HEADER = 5

if not os.getenv("HIL_FRAMES_FD"):
    sys.stderr.write("hil: HIL_FRAMES_FD is not set (start this through vm_launch.py --framed)\n")
    sys.exit(2)
# Opened before hil_chip.setup mounts the board folder as "/", where /dev is out of reach.
_frames = open("/dev/fd/" + os.getenv("HIL_FRAMES_FD"), "wb")
_stdin = sys.stdin.buffer


def frame(kind, payload=b""):
    _frames.write(bytes((ord(kind),)) + len(payload).to_bytes(4, "little"))
    _frames.write(payload)


@micropython.native
def receive(buf):
    """Fills `buf` from stdin; False at its end (the board is gone). One byte a read: a Ctrl-C meant for code that
    just ended can interrupt a read, and a read of one byte that raises has taken nothing, so no byte is lost."""
    view = memoryview(buf)
    got = 0
    while got < len(buf):
        try:
            n = _stdin.readinto(view[got : got + 1])
        except KeyboardInterrupt:
            continue
        if not n:
            return False
        got += n
    return True


def report(e):
    text = io.BytesIO()
    sys.print_exception(e, text)
    frame("e", text.getvalue())


@micropython.native
def run(source, name, mode, namespace):
    """Runs the code; True when it asked for a soft reset. Native, so the traceback shows the code's frames only."""
    try:
        exec(hil_chip.vm_compile(source, name, mode), namespace)
    except SystemExit:
        return True
    except BaseException as e:  # noqa: B036 - the chip's REPL prints whatever the code raised
        report(e)
    return False


def boot_py():
    try:
        with open("boot.py") as f:
            return f.read()
    except OSError:
        return None


def reset():
    # The board resets the chip, which ends this process.
    frame("r")
    _hil.halt()


def main():
    ballast = hil_chip.setup()  # noqa: F841 - kept: the code gets the chip's heap, no more
    machine.reset = reset
    namespace = {"__name__": "__main__"}
    header = bytearray(HEADER)
    while receive(header):
        kind = chr(header[0])
        length = int.from_bytes(header[1:], "little")
        try:
            payload = bytearray(length)
        except MemoryError as e:
            # Code longer than the heap holds, as on the chip's REPL: it is read, dropped and the error shown.
            spare = bytearray(1)
            for _ in range(length):
                if not receive(spare):
                    return
            report(e)
            frame("d")
            continue
        if not receive(payload):
            return
        source = bytes(payload)
        payload = None
        soft_reset = False
        if kind == "x":
            soft_reset = run(source, "<stdin>", "exec", namespace)
        elif kind == "i":
            soft_reset = run(source, "<stdin>", "single", namespace)
        elif kind == "b":
            source = boot_py()
            if source is not None:
                soft_reset = run(source, "boot.py", "exec", namespace)
        if soft_reset:
            frame("s")
            return
        frame("d")


main()
