"""MicroPython's `time` as an ESP8266 has it, on the twin's device clock (`--speed` scales it).

Ticks restart at 0 on every boot and wrap at 2**30, as on the chip (the 64-bit unix port's wrap at 2**62); the
epoch is 2000-01-01 and time() an int, as on the chip (the unix port counts from 1970, in floats).
"""
import micropython
import utime as _utime

import _hil

_PERIOD = 1 << 30
_MAX = _PERIOD - 1
_HALF = _PERIOD // 2
# Seconds from 1970-01-01 to 2000-01-01, MicroPython's embedded epoch.
_EPOCH_2000 = 946684800


@micropython.native
def ticks_ms():
    return int(_hil.uptime_ms()) & _MAX


@micropython.native
def ticks_us():
    return int(_hil.uptime_ms() * 1000) & _MAX


@micropython.native
def ticks_cpu():
    # The ESP8266's CCOUNT at 80 MHz.
    return int(_hil.uptime_ms() * 80000) & _MAX


@micropython.native
def ticks_diff(end, start):
    return ((end - start + _HALF) & _MAX) - _HALF


@micropython.native
def ticks_add(ticks, delta):
    return (ticks + delta) & _MAX


@micropython.native
def sleep_ms(ms):
    _hil.sample_heap()
    _hil.sleep_device_ms(ms)


@micropython.native
def sleep_us(us):
    _hil.sleep_device_ms(us / 1000)


@micropython.native
def sleep(s):
    _hil.sample_heap()
    _hil.sleep_device_ms(s * 1000)


@micropython.native
def time():
    return _hil.device_ns() // 1000000000


@micropython.native
def time_ns():
    return _hil.device_ns()


@micropython.native
def gmtime(secs=None):
    if secs is None:
        secs = time()
    return _utime.gmtime(secs + _EPOCH_2000)


localtime = gmtime


@micropython.native
def mktime(t):
    return _utime.mktime(t) - _EPOCH_2000
