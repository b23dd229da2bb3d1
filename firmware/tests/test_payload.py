import runner  # first: it puts ../app on sys.path
import json

import backlog
import payload
from runner import eq

load_tests = runner.unittest_hook(__name__)


def entry(seq=41, raw=812, centivolts=1263, low=False, cause=5):
    return backlog.Entry(seq, raw, centivolts, low, cause)


def test_matches_the_contract_example_exactly():
    text = payload.build(entry(), False, 1840, -58, "deepsleep", "0.1.0")
    eq(
        text,
        '{"v": 12.63, "raw": 812, "seq": 41, "low": false, "awake_ms": 1840, "rssi": -58,'
        ' "reset": "deepsleep", "fw": "0.1.0", "late": false}',
    )


def test_is_valid_json_with_typed_fields():
    data = json.loads(payload.build(entry(low=True), True, 5, -70, "power-on", "0.1.0"))
    eq(data["v"], 12.63)
    eq(data["low"], True)
    eq(data["late"], True)
    eq(data["reset"], "power-on")
    eq("dropped" in data, False)


def test_dropped_appears_only_when_non_zero():
    data = json.loads(payload.build(entry(), True, 5, -70, "deepsleep", "0.1.0", 3))
    eq(data["dropped"], 3)


def test_unknown_rssi_is_null():
    eq(json.loads(payload.build(entry(), False, 5, None, "soft", "0.1.0"))["rssi"], None)


def test_volts_keep_two_decimals():
    eq(payload.volts_text(1260), "12.60")
    eq(payload.volts_text(5), "0.05")
    eq(payload.volts_text(0), "0.00")
    eq(payload.volts_text(-5), "-0.05")
