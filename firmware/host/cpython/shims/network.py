"""MicroPython's `network` for the twin bench: an ESP8266 WLAN whose association the rig decides."""
import _hil

STA_IF = 0
AP_IF = 1

STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_WRONG_PASSWORD = 2
STAT_NO_AP_FOUND = 3
STAT_CONNECT_FAIL = 4
STAT_GOT_IP = 5

_FAILURES = {"wrong-password": STAT_WRONG_PASSWORD, "no-ap": STAT_NO_AP_FOUND}

_interfaces = {}


class WLAN:
    # The chip has one object per interface; WLAN(STA_IF) twice is the same radio.
    def __new__(cls, interface_id=STA_IF):
        if interface_id not in (STA_IF, AP_IF):
            raise ValueError("invalid WLAN interface")
        if interface_id not in _interfaces:
            wlan = object.__new__(cls)
            wlan._id = interface_id
            wlan._active = interface_id == STA_IF
            wlan._status = STAT_IDLE
            wlan._up_at_ms = None
            wlan._rssi = None
            _interfaces[interface_id] = wlan
        return _interfaces[interface_id]

    def active(self, is_active=None):
        if is_active is None:
            return self._active
        self._active = bool(is_active)
        if not self._active:
            self.disconnect()
        return None

    def connect(self, ssid=None, key=None, bssid=None):
        if self._id != STA_IF:
            raise OSError("AP interface cannot connect")
        if not self._active:
            raise OSError("STA must be active")
        # The password stays here: the bench only learns which network was asked for.
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

    def status(self, param=None):
        if self._status == STAT_CONNECTING and _hil.uptime_ms() >= self._up_at_ms:
            self._status = STAT_GOT_IP
        if param is None:
            return self._status
        if param == "rssi":
            return self._rssi if self._status == STAT_GOT_IP else -100
        raise ValueError("unknown status param")

    def ifconfig(self, config=None):
        if config is not None:
            return None
        if self._id == AP_IF:
            return ("192.168.4.1", "255.255.255.0", "192.168.4.1", "208.67.222.222")
        if self.isconnected():
            return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")
        return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")
