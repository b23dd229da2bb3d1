"""The JSON payload, written by hand so key order and the 2-decimal volts are fixed on every port
(MicroPython's dict order and float repr differ from CPython's)."""
import json


def volts_text(centivolts):
    sign = "-" if centivolts < 0 else ""
    centivolts = abs(centivolts)
    return "%s%d.%02d" % (sign, centivolts // 100, centivolts % 100)


def _bool(value):
    return "true" if value else "false"


def build(entry, late, awake_ms, rssi, reset, fw, dropped=0):
    """entry: a backlog.Entry; rssi may be None when the radio can't tell."""
    parts = [
        '"v": ' + volts_text(entry.centivolts),
        '"raw": %d' % entry.raw,
        '"seq": %d' % entry.seq,
        '"low": ' + _bool(entry.low),
        '"awake_ms": %d' % awake_ms,
        '"rssi": ' + ("null" if rssi is None else "%d" % rssi),
        '"reset": ' + json.dumps(reset),
        '"fw": ' + json.dumps(fw),
        '"late": ' + _bool(late),
    ]
    if dropped:
        parts.append('"dropped": %d' % dropped)
    return "{" + ", ".join(parts) + "}"
