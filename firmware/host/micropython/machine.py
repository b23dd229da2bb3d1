"""MicroPython's `machine` as an ESP8266 has it, for the twin bench: ADC, RTC memory, reset cause, deep sleep and
the chip id served by the bench over the control socket."""
import micropython
import os

import _hil

PWRON_RESET = 0
WDT_RESET = 1
SOFT_RESET = 4
DEEPSLEEP_RESET = 5
HARD_RESET = 6
DEEPSLEEP = 4

RTC_MEMORY_MAX = 492
# ADC(1) reads the chip's supply in 1/1024 V: a 3.3 V rail.
_VDD_COUNTS = 3379

_reset_cause = PWRON_RESET
_rtc_memory = b""


def _boot(reply):
    """This boot's reset cause and RTC memory, from the rig's answer to the hello."""
    global _reset_cause, _rtc_memory
    _reset_cause = int(reply.get("reset_cause") or PWRON_RESET)
    _rtc_memory = bytes.fromhex(reply.get("rtc_hex") or "")


def reset_cause():
    return _reset_cause


def unique_id():
    # The last 4 bytes of the station MAC, as an ESP8266 reports its chip id.
    mac = os.getenv("HIL_MAC") or "5c:cf:7f:00:00:01"
    return bytes(int(part, 16) for part in mac.split(":"))[-4:]


@micropython.native
def _ask_sleep(ms):
    _hil.report_heap()
    reply = _hil.request({"op": "deepsleep", "ms": int(ms), "stretch_ms": _hil.stretch_ms()})
    if not reply.get("ok"):
        _hil.die("deepsleep refused: %s" % reply)


@micropython.native
def deepsleep(time_ms=0):
    # A 32-bit microsecond timer: larger values wrap to a shorter sleep, as on the chip.
    _ask_sleep(((int(time_ms) * 1000) & 0xFFFFFFFF) // 1000)
    _hil.halt()


@micropython.native
def lightsleep(time_ms=0):
    _hil.sleep_device_ms(time_ms)


@micropython.native
def reset():
    _hil.report_heap()
    _hil.request({"op": "reset"})
    _hil.halt()


@micropython.native
def soft_reset():
    raise SystemExit


def idle():
    pass


def freq(hz=None):
    return 80000000 if hz is None else None


class ADC:
    @micropython.native
    def __init__(self, channel):
        if channel not in (0, 1):
            raise ValueError("ADC(%d) doesn't exist" % channel)
        self._channel = channel

    @micropython.native
    def read(self):
        _hil.sample_heap()
        if self._channel == 1:
            return _VDD_COUNTS
        counts = _hil.request({"op": "adc"}).get("counts")
        if not isinstance(counts, int):
            _hil.die("bad adc reply")
        return max(0, min(1024, counts))

    @micropython.native
    def read_u16(self):
        return self.read() * 65535 // 1024


class RTC:
    @micropython.native
    def memory(self, data=None):
        global _rtc_memory
        _hil.sample_heap()
        if data is None:
            return _rtc_memory
        data = bytes(data)
        if len(data) > RTC_MEMORY_MAX:
            raise ValueError("buffer too long")
        reply = _hil.request({"op": "rtc", "hex": data.hex()})
        if not reply.get("ok"):
            _hil.die("rtc write refused: %s" % reply)
        _rtc_memory = data


class Pin:
    """Enough of Pin for code that drives an LED or reads a button: levels are kept, not wired."""

    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self._value = 0 if value is None else int(bool(value))

    def value(self, v=None):
        if v is None:
            return self._value
        self._value = int(bool(v))

    def on(self):
        self._value = 1

    def off(self):
        self._value = 0

    def irq(self, handler=None, trigger=3):
        return None

    __call__ = value
