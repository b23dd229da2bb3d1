import runner  # first: it puts ../app on sys.path
import json

import config
from runner import eq, raises

load_tests = runner.unittest_hook(__name__)

RIG = {
    "device_id": "twin-0",
    "wifi": {"ssid": "hil-bench", "password": "w"},
    "broker": {"host": "127.0.0.1", "port": 1883, "username": "rig", "password": "p", "client_id": "twin-0"},
    "topic_prefix": "hil",
    "sleep_ms": 60000,
    "keepalive_s": 60,
    "adc": {"divider": 0.0617, "full_scale_volts": 1.0},
    "samples": 16,
    "low_battery_volts": 11.8,
    "qos": 0,
    "legacy_keepalive_zero": False,
}


def with_changes(**changes):
    cfg = json.loads(json.dumps(RIG))
    cfg.update(changes)
    return json.dumps(cfg)


def test_rig_config_loads_unchanged():
    cfg = config.parse(json.dumps(RIG))
    for key in RIG:
        eq(cfg[key], RIG[key])
    eq(config.keepalive_to_send(cfg), 60)


def test_hand_written_config_gets_defaults():
    cfg = config.parse('{"device_id": "shed", "wifi": {"ssid": "home"}, "broker": {"host": "10.1.1.1"}}')
    eq(cfg["broker"]["port"], 1883)
    eq(cfg["broker"]["client_id"], "shed")
    eq(cfg["adc"]["divider"], 0.0617)
    eq(cfg["sleep_ms"], 60000)
    eq(cfg["samples"], 16)
    eq(cfg["wifi_timeout_ms"], 10000)
    eq(config.DEFAULTS["broker"]["client_id"], "")


def test_keepalive_zero_is_refused():
    e = raises(config.ConfigError, config.parse, with_changes(keepalive_s=0))
    eq("keepalive_s" in str(e), True)


def test_legacy_mode_sends_keepalive_zero():
    eq(config.keepalive_to_send(config.parse(with_changes(legacy_keepalive_zero=True))), 0)
    eq(config.keepalive_to_send(config.parse(with_changes(keepalive_s=0, legacy_keepalive_zero=True))), 0)


def test_invalid_values_name_the_key():
    cases = [
        (with_changes(qos=2), "qos"),
        (with_changes(samples=0), "samples"),
        (with_changes(sleep_ms=5000000), "sleep_ms"),
        (with_changes(adc={"divider": 0}), "adc.divider"),
        (with_changes(broker={"host": "h", "port": "1883"}), "broker.port"),
        (with_changes(wifi={"password": "x"}), "wifi.ssid"),
        (with_changes(wifi="hil-bench"), "wifi"),
        (with_changes(legacy_keepalive_zero=1), "legacy_keepalive_zero"),
    ]
    for text, key in cases:
        e = raises(config.ConfigError, config.parse, text)
        if not str(e).startswith(key):
            raise AssertionError("%r does not name %s" % (str(e), key))


def test_not_json_is_a_config_error():
    raises(config.ConfigError, config.parse, "{nope")
    raises(config.ConfigError, config.parse, "[1]")

