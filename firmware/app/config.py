"""Load config.json: defaults for a hand-written file, then validation with messages that name the key."""
import json

PATH = "config.json"

# deepsleep's 32-bit microsecond timer wraps above this, turning a long sleep into a short one.
MAX_SLEEP_MS = 4294967

DEFAULTS = {
    "device_id": "esp8266",
    "wifi": {"ssid": "", "password": ""},
    "broker": {"host": "", "port": 1883, "username": "", "password": "", "client_id": ""},
    "topic_prefix": "hil",
    "sleep_ms": 60000,
    "keepalive_s": 60,
    "adc": {"divider": 0.0617, "full_scale_volts": 1.0},
    "samples": 16,
    "low_battery_volts": 11.8,
    "qos": 0,
    "legacy_keepalive_zero": False,
    "wifi_timeout_ms": 10000,
}


class ConfigError(ValueError):
    pass


def merge(defaults, given):
    """Defaults overlaid with the given values, one level of nested sections deep."""
    out = {}
    for key in defaults:
        value = defaults[key]
        if isinstance(value, dict):
            # A copy, so filling in a section never changes DEFAULTS.
            value = dict(value)
            if key in given:
                if not isinstance(given[key], dict):
                    raise ConfigError("%s must be an object" % key)
                value.update(given[key])
        elif key in given:
            value = given[key]
        out[key] = value
    return out


def _int(cfg, path, low, high):
    value = _get(cfg, path)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or value > high:
        raise ConfigError("%s must be an integer from %d to %d" % (path, low, high))
    return value


def _num(cfg, path, positive):
    value = _get(cfg, path)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (positive and value <= 0):
        raise ConfigError("%s must be a %snumber" % (path, "positive " if positive else ""))
    return value


def _str(cfg, path, required):
    value = _get(cfg, path)
    if not isinstance(value, str) or (required and not value):
        raise ConfigError("%s must be a %sstring" % (path, "non-empty " if required else ""))
    return value


def _get(cfg, path):
    for part in path.split("."):
        cfg = cfg[part]
    return cfg


def validate(cfg):
    _str(cfg, "device_id", True)
    _str(cfg, "wifi.ssid", True)
    _str(cfg, "wifi.password", False)
    _str(cfg, "broker.host", True)
    _int(cfg, "broker.port", 1, 65535)
    _str(cfg, "broker.username", False)
    _str(cfg, "broker.password", False)
    _str(cfg, "broker.client_id", False)
    _str(cfg, "topic_prefix", True)
    _int(cfg, "sleep_ms", 1, MAX_SLEEP_MS)
    _int(cfg, "keepalive_s", 0, 65535)
    _num(cfg, "adc.divider", True)
    _num(cfg, "adc.full_scale_volts", True)
    _int(cfg, "samples", 1, 64)
    _num(cfg, "low_battery_volts", False)
    _int(cfg, "wifi_timeout_ms", 100, 60000)
    if cfg["qos"] not in (0, 1) or isinstance(cfg["qos"], bool):
        raise ConfigError("qos must be 0 or 1")
    if not isinstance(cfg["legacy_keepalive_zero"], bool):
        raise ConfigError("legacy_keepalive_zero must be true or false")
    # Mosquitto >= 2.0.12 refuses keepalive 0 with CONNACK 2; only the legacy mode may send it.
    if cfg["keepalive_s"] == 0 and not cfg["legacy_keepalive_zero"]:
        raise ConfigError("keepalive_s must be > 0 (set legacy_keepalive_zero to send 0 on purpose)")
    if not cfg["broker"]["client_id"]:
        cfg["broker"]["client_id"] = cfg["device_id"]
    return cfg


def parse(text):
    try:
        given = json.loads(text)
    except ValueError:
        raise ConfigError("config.json is not valid JSON")
    if not isinstance(given, dict):
        raise ConfigError("config.json must hold an object")
    return validate(merge(DEFAULTS, given))


def load(path=PATH):
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        raise ConfigError("cannot read " + path)
    return parse(text)


def keepalive_to_send(cfg):
    """The keepalive field of CONNECT: 0 in legacy mode, as umqtt.simple sent by default."""
    return 0 if cfg["legacy_keepalive_zero"] else cfg["keepalive_s"]
