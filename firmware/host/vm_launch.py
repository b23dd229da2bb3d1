"""Runs one boot of a twin board on MicroPython's unix port, in this process (firmware/host/PROTOCOL.md).

    python3 -u vm_launch.py SITE HEAP_BYTES ENTRY

SITE holds the `micropython_run` module (firmware/host/install.py puts it there). `run_main` runs the VM in
this process holding the GIL and leaves the process's signal handling changed, so it runs in a process of its
own: a fresh interpreter, or a child of the rig's fork server, which imports the module once for all of them.
"""
import os
import sys

EXIT_NOT_INSTALLED = 4

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
os._exit(micropython_run.run_main(["micropython", "-X", "heapsize=%s" % heap, entry]) & 0xFF)
