"""MicroPython's `esp` for the twin bench."""
import micropython

import _hil
import machine

SLEEP_NONE = 0
SLEEP_LIGHT = 1
SLEEP_MODEM = 2


def osdebug(level, *args):
    pass


@micropython.native
def deepsleep(time_us=0, *args):
    # Unlike machine.deepsleep this returns, as on the chip: code after it runs until the chip actually sleeps,
    # which on the twin is as soon as the rig hears of it.
    machine._ask_sleep(time_us // 1000)


def sleep_type(kind=None):
    return SLEEP_NONE if kind is None else None


def flash_id():
    return 0x1640E0


def flash_size():
    return 4 * 1024 * 1024
