"""MicroPython's `network` as an ESP8266 has it, for the twin bench: a WLAN whose association the rig decides.
The password stays here: the bench only learns which network was asked for."""
import micropython
import os

import _hil

STA_IF = 0
AP_IF = 1

STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_WRONG_PASSWORD = 2
STAT_NO_AP_FOUND = 3
STAT_CONNECT_FAIL = 4
STAT_GOT_IP = 5

MODE_11B = 1
MODE_11G = 2
MODE_11N = 3

_FAILURES = {"wrong-password": STAT_WRONG_PASSWORD, "no-ap": STAT_NO_AP_FOUND}

_interfaces = {}


def _mac():
    mac = os.getenv("HIL_MAC") or "5c:cf:7f:00:00:01"
    return bytes(int(part, 16) for part in mac.split(":"))


class _Radio:
    def __init__(self, interface_id):
        self._id = interface_id
        self._active = interface_id == STA_IF
        self._status = STAT_IDLE
        self._up_at_ms = None
        self._rssi = None

    def active(self, is_active=None):
        if is_active is None:
            return self._active
        self._active = bool(is_active)
        if not self._active:
            self.disconnect()

    @micropython.native
    def connect(self, ssid=None, key=None, *, bssid=None):
        _hil.sample_heap()
        if self._id != STA_IF:
            raise OSError("AP interface cannot connect")
        if not self._active:
            raise OSError("STA must be active")
        reply = _hil.request({"op": "wifi_connect", "ssid": ssid or ""})
        if reply.get("ok"):
            self._status = STAT_CONNECTING
            self._up_at_ms = _hil.uptime_ms() + float(reply.get("delay_ms", 0))
            self._rssi = reply.get("rssi")
        else:
            self._status = _FAILURES.get(reply.get("reason"), STAT_CONNECT_FAIL)
            self._up_at_ms = None

    def disconnect(self):
        self._status = STAT_IDLE
        self._up_at_ms = None

    def isconnected(self):
        return self.status() == STAT_GOT_IP

    @micropython.native
    def status(self, param=None):
        if self._status == STAT_CONNECTING and _hil.uptime_ms() >= self._up_at_ms:
            self._status = STAT_GOT_IP
        if param is None:
            return self._status
        if param == "rssi":
            return self._rssi if self._status == STAT_GOT_IP else -100
        raise ValueError("unknown status param")

    @micropython.native
    def config(self, *args, **kwargs):
        if kwargs:
            return None
        if args == ("mac",):
            return _mac()
        if args == ("essid",):
            return "ESP_%02X%02X%02X" % tuple(_mac()[-3:]) if self._id == AP_IF else ""
        if args == ("hostname",) or args == ("dhcp_hostname",):
            return "ESP_%02X%02X%02X" % tuple(_mac()[-3:])
        raise ValueError("unknown config param")

    def ifconfig(self, config=None):
        if config is not None:
            return None
        if self._id == AP_IF:
            return ("192.168.4.1", "255.255.255.0", "192.168.4.1", "208.67.222.222")
        if self.isconnected():
            return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")
        return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")

    def scan(self):
        return []


def WLAN(interface_id=STA_IF):
    # The chip has one object per interface: WLAN(STA_IF) twice is the same radio.
    if interface_id not in (STA_IF, AP_IF):
        raise ValueError("invalid WLAN interface %d" % interface_id)
    if interface_id not in _interfaces:
        _interfaces[interface_id] = _Radio(interface_id)
    return _interfaces[interface_id]


def phy_mode(mode=None):
    return MODE_11N if mode is None else None
