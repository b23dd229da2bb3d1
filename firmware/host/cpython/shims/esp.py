"""MicroPython's `esp` for the twin bench."""
import machine


def osdebug(level, *args):
    pass


def deepsleep(time_us=0, *args):
    # esp.deepsleep counts microseconds; machine.deepsleep milliseconds.
    machine.deepsleep(time_us // 1000)
