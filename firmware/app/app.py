"""One wake: sample the battery, bring up WiFi, publish (backlog first), disconnect, deep-sleep."""
import errno
import sys
import time

import machine
import network

import backlog
import battery
import config
import mqtt
import payload

FW = "0.1.0"

RESET_NAMES = {0: "power-on", 1: "watchdog", 4: "soft", 5: "deepsleep", 6: "hard"}
WIFI_FAILURES = {
    network.STAT_WRONG_PASSWORD: "wrong-password",
    network.STAT_NO_AP_FOUND: "no-ap",
    network.STAT_CONNECT_FAIL: "connect-fail",
}
WIFI_POLL_MS = 100
SOCKET_TIMEOUT_S = 5


def reset_name(cause):
    return RESET_NAMES.get(cause, "unknown")


def reason(e):
    """A short cause: the errno name where there is one (ECONNREFUSED), else the message."""
    code = e.args[0] if e.args else None
    if isinstance(code, int) and code in errno.errorcode:
        return errno.errorcode[code]
    return str(e) or type(e).__name__


def run():
    """The whole wake. Every path ends in deep sleep, so a fault never becomes a crash loop."""
    rtc = machine.RTC()
    state = backlog.decode(rtc.memory())
    cause = machine.reset_cause()
    print("boot reset=%s seq=%d" % (reset_name(cause), state.seq))
    sleep_ms = config.DEFAULTS["sleep_ms"]
    try:
        cfg = config.load()
        sleep_ms = cfg["sleep_ms"]
        wake(cfg, state, rtc, cause)
    except Exception as e:
        if isinstance(e, (config.ConfigError, mqtt.MQTTError)):
            print("error %s" % e)
        else:
            print("error %s: %s" % (type(e).__name__, e))
            sys.print_exception(e)
    print("sleep %dms" % sleep_ms)
    machine.deepsleep(sleep_ms)


def wake(cfg, state, rtc, cause):
    # The ADC is read before the radio starts: TX bursts disturb it.
    adc = machine.ADC(0)
    raw, volts = battery.measure(adc.read, cfg["samples"], cfg["adc"]["divider"], cfg["adc"]["full_scale_volts"])
    centivolts = battery.hundredths(volts)
    low = centivolts < battery.hundredths(cfg["low_battery_volts"])
    current = state.add(raw, centivolts, low, cause)
    # Saved now, so whatever fails below, the sample waits in the backlog for a later wake.
    rtc.memory(state.encode())
    wlan = wifi_up(cfg)
    if not wlan:
        return
    client = connect(cfg)
    if not client:
        return
    try:
        publish_backlog(cfg, state, current, wlan, client)
    finally:
        rtc.memory(state.encode())


def wifi_up(cfg):
    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    start = time.ticks_ms()
    if not wlan.isconnected():
        wlan.connect(cfg["wifi"]["ssid"], cfg["wifi"]["password"])
    while not wlan.isconnected():
        status = wlan.status()
        if status in WIFI_FAILURES:
            print("wifi fail %s" % WIFI_FAILURES[status])
            return None
        if time.ticks_diff(time.ticks_ms(), start) >= cfg["wifi_timeout_ms"]:
            print("wifi fail timeout")
            return None
        time.sleep_ms(WIFI_POLL_MS)
    print("wifi ok %.1fs" % (time.ticks_diff(time.ticks_ms(), start) / 1000))
    return wlan


def connect(cfg):
    """A connected mqtt.Client, or None after printing why not. A refusal is raised on, to be
    logged with its explanation."""
    broker = cfg["broker"]
    sock = None
    refused = None
    try:
        sock = mqtt.open_socket(broker["host"], broker["port"], SOCKET_TIMEOUT_S)
        keepalive_s = config.keepalive_to_send(cfg)
        client = mqtt.Client(sock, keepalive_s, SOCKET_TIMEOUT_S)
        client.connect(broker["client_id"], broker["username"], broker["password"], keepalive_s)
        print("mqtt connack=0 accepted")
        return client
    except mqtt.RefusedError as e:
        print("mqtt connack=%d %s" % (e.rc, mqtt.connack_name(e.rc)))
        refused = e
    except mqtt.ClosedError:
        print("mqtt closed before connack")
    except (OSError, mqtt.MQTTError) as e:
        print("mqtt fail %s" % reason(e))
    if sock:
        sock.close()
    if refused:
        raise refused
    return None


def publish_backlog(cfg, state, current, wlan, client):
    """Send every queued sample, oldest first; those from earlier wakes are marked late."""
    topic = "%s/%s/battery" % (cfg["topic_prefix"], cfg["device_id"])
    try:
        while state.count():
            entry = state.entry(0)
            late = entry.seq != current.seq
            rssi = wlan.status("rssi")
            # The ESP8266 SDK answers 31 where it cannot tell: the payload says null.
            rssi = rssi if rssi < 0 else None
            message = payload.build(entry, late, time.ticks_ms(), rssi, reset_name(entry.cause), FW, state.dropped)
            client.publish(topic, message, cfg["qos"])
            state.sent()
            print("pub seq=%d v=%s%s" % (entry.seq, payload.volts_text(entry.centivolts), " late" if late else ""))
    except BaseException:
        client.sock.close()
        raise
    client.disconnect()
