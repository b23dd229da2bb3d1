"""MicroPython's `machine` for the twin bench: ESP8266 behaviour backed by the control socket."""
import os

import _hil

PWRON_RESET = 0
WDT_RESET = 1
SOFT_RESET = 4
DEEPSLEEP_RESET = 5
HARD_RESET = 6

RTC_MEMORY_MAX = 492

# What the RTC user memory held when this boot started; writes update it.
_rtc_memory = bytes.fromhex(os.environ.get("HIL_RTC_HEX", "").strip())


def reset_cause():
    return int(os.environ.get("HIL_RESET_CAUSE") or PWRON_RESET)


def unique_id():
    # An ESP8266 reports the last 4 bytes of its station MAC.
    mac = os.environ.get("HIL_MAC", "5c:cf:7f:00:00:01")
    return bytes(int(part, 16) for part in mac.split(":"))[-4:]


def deepsleep(time_ms=0):
    _hil.flush_console()
    reply = _hil.request({"op": "deepsleep", "ms": int(time_ms)})
    if not reply.get("ok"):
        _hil.die("deepsleep refused: %s" % reply)
    _hil.flush_console()
    os._exit(0)


def idle():
    pass


def freq(hz=None):
    return 80000000 if hz is None else None


class ADC:
    def __init__(self, channel):
        if channel != 0:
            raise ValueError("invalid ADC channel")

    def read(self):
        counts = _hil.request({"op": "adc"}).get("counts")
        if not isinstance(counts, int):
            _hil.die("bad adc reply")
        return max(0, min(1024, counts))

    def read_u16(self):
        return self.read() * 65535 // 1024


class RTC:
    def memory(self, data=None):
        global _rtc_memory
        if data is None:
            return _rtc_memory
        data = bytes(data)
        if len(data) > RTC_MEMORY_MAX:
            raise ValueError("buffer too long")
        reply = _hil.request({"op": "rtc", "hex": data.hex()})
        if not reply.get("ok"):
            _hil.die("rtc write refused: %s" % reply)
        _rtc_memory = data
        return None


class Pin:
    """Enough of Pin for code that drives an LED or reads a button: levels are kept, not wired."""
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self._value = 0 if value is None else int(bool(value))

    def value(self, v=None):
        if v is None:
            return self._value
        self._value = int(bool(v))
        return None

    def on(self):
        self._value = 1

    def off(self):
        self._value = 0

    __call__ = value
