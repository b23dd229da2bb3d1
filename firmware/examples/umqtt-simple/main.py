# Battery monitor: read the battery, publish it over MQTT, deep-sleep until the next reading.
# Needs GPIO16 wired to RST so the deep-sleep timer can wake the board.
import json
import time

import machine
import network
from umqtt.simple import MQTTClient

import battery

with open("config.json") as f:
    config = json.load(f)

volts = battery.read_volts(config["samples"], config["adc"]["divider"], config["adc"]["full_scale_volts"])
print("battery %.2f V" % volts)

wlan = network.WLAN(network.STA_IF)
wlan.active(True)
wlan.connect(config["wifi"]["ssid"], config["wifi"]["password"])
for _ in range(100):
    if wlan.isconnected():
        break
    time.sleep_ms(100)

if wlan.isconnected():
    broker = config["broker"]
    options = {}
    if not config["legacy_keepalive_zero"]:
        # Without it umqtt.simple sends keepalive 0.
        options["keepalive"] = config["keepalive_s"]
    client = MQTTClient(
        broker["client_id"],
        broker["host"],
        port=broker["port"],
        user=broker["username"],
        password=broker["password"],
        **options
    )
    client.connect()
    topic = "%s/%s/battery" % (config["topic_prefix"], config["device_id"])
    client.publish(topic, "%.2f" % volts)
    client.disconnect()
    print("published to", topic)
else:
    print("no wifi")

machine.deepsleep(config["sleep_ms"])
