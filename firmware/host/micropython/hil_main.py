"""One boot of a twin ESP8266 on MicroPython's unix port (../PROTOCOL.md, "MicroPython runtime").

Started by the rig (through vm_launch.py) in the board's filesystem folder, with a heap sized by `-X heapsize`.
hil_chip.py makes the VM look like the chip to the firmware; this runs boot.py and main.py as the chip's firmware
does. An uncaught exception prints MicroPython's traceback, then the board sits at its REPL, awake, as a chip
does: the banner and prompt are printed and the rig told (`repl`), which ends this process.
"""
import micropython
import sys

import _hil
import hil_chip

BANNER = 'MicroPython v1.22.2 on 2024-02-22; ESP module with ESP8266\nType "help()" for more information.\n>>> '
MAX_SOFT_REBOOTS = 20


@micropython.native
def boot():
    """boot.py then main.py, as the chip runs them; returns when the firmware stops without sleeping."""
    for _ in range(MAX_SOFT_REBOOTS):
        env = {"__name__": "__main__"}
        try:
            hil_chip.run_file("boot.py", env)
            hil_chip.run_file("main.py", env)
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
    ballast = hil_chip.setup()
    _preloaded = set(sys.modules)
    boot()
    _hil.sample_heap()
    _hil.report_heap()
    del ballast
    print(BANNER, end="")
    _hil.request({"op": "repl"})
    _hil.halt()


_preloaded = set()
main()
