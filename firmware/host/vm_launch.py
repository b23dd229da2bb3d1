"""Runs one boot of a twin board on MicroPython's unix port, in this process (firmware/host/PROTOCOL.md).

    python3 -u vm_launch.py SITE HEAP_BYTES ENTRY [--framed]

SITE holds the `micropython_run` module (firmware/host/install.py puts it there). `run_main` runs the VM in
this process holding the GIL and leaves the process's signal handling changed, so it runs in a process of its
own: a fresh interpreter, or a child of the rig's fork server, which imports the module once for all of them.

--framed (the REPL host of pty boards, micropython/repl_host.py): stdout carries frames `kind(1) len(u32 LE)
payload` (twin/src/pty_board/host.rs). What the VM prints, on its stdout and stderr (one UART on the chip),
goes out as `o` frames, in order with the frames the VM writes to the pipe HIL_FRAMES_FD names. The VM cannot
point its own stdout elsewhere (sys.stdout is fixed), and holds the GIL while it runs, so a forked child of this
process does the merging.
"""
import os
import select
import signal
import sys

EXIT_NOT_INSTALLED = 4
EXIT_USAGE = 2
CHUNK = 65536


def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def drain(console, out):
    """Passes on what the console pipe holds now as `o` frames; False once it is closed."""
    while True:
        try:
            data = os.read(console, CHUNK)
        except BlockingIOError:
            return True
        if not data:
            return False
        write_all(out, b"o" + len(data).to_bytes(4, "little") + data)


def merge(console, frames, out):
    """Console bytes become `o` frames; the VM's frames go out whole, each after every console byte written before
    it (a pipe write is complete when it returns, so draining the console pipe first is enough)."""
    os.set_blocking(console, False)
    poller = select.poll()
    poller.register(console, select.POLLIN)
    poller.register(frames, select.POLLIN)
    console_open = frames_open = True
    pending = b""
    while console_open or frames_open:
        for fd, _ in poller.poll():
            if fd == console and console_open:
                console_open = drain(console, out)
                if not console_open:
                    poller.unregister(console)
            elif fd == frames and frames_open:
                data = os.read(frames, CHUNK)
                if not data:
                    frames_open = False
                    poller.unregister(frames)
                pending += data
                while len(pending) >= 5 and len(pending) >= 5 + int.from_bytes(pending[1:5], "little"):
                    end = 5 + int.from_bytes(pending[1:5], "little")
                    if console_open:
                        console_open = drain(console, out)
                    write_all(out, pending[:end])
                    pending = pending[end:]


def framed():
    """Points the VM's stdout and stderr at a console pipe, gives it a frames pipe, and forks the merger."""
    console_r, console_w = os.pipe()
    frames_r, frames_w = os.pipe()
    if os.fork() == 0:
        # Ctrl-C is for the code the VM runs; the merger ends when the VM's pipes close.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        os.close(console_w)
        os.close(frames_w)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        try:
            merge(console_r, frames_r, 1)
        except OSError:
            pass  # the rig stopped reading: nothing is left to tell
        os._exit(0)
    os.close(console_r)
    os.close(frames_r)
    os.dup2(console_w, 1)
    os.dup2(console_w, 2)
    os.close(console_w)
    os.environ["HIL_FRAMES_FD"] = str(frames_w)


def main():
    if len(sys.argv) not in (4, 5) or sys.argv[4:] not in ([], ["--framed"]):
        sys.stderr.write("usage: vm_launch.py SITE HEAP_BYTES ENTRY [--framed]\n")
        sys.exit(EXIT_USAGE)
    site, heap, entry = sys.argv[1:4]
    if site not in sys.path:
        sys.path.insert(0, site)
    try:
        import micropython_run
    except ImportError as e:
        sys.stderr.write(
            "hil: MicroPython's unix port is not installed in %s (%s); run: python3 firmware/host/install.py\n"
            % (site, e)
        )
        sys.exit(EXIT_NOT_INSTALLED)
    sys.stdout.flush()
    sys.stderr.flush()
    if sys.argv[4:] == ["--framed"]:
        framed()
    os._exit(micropython_run.run_main(["micropython", "-X", "heapsize=%s" % heap, entry]) & 0xFF)


main()
