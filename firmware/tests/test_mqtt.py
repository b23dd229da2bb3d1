import runner  # first: it puts ../app on sys.path
import mqtt
from runner import eq, raises

load_tests = runner.unittest_hook(__name__)

CONNACK_OK = b"\x20\x02\x00\x00"
TIMEOUT = OSError(110)


class FakeSocket:
    """Plays back scripted replies: bytes are received (in pieces), an exception is raised by recv."""

    def __init__(self, *script):
        self.script = list(script)
        self.buffer = b""
        self.sent = []
        self.closed = False
        self.timeouts = []

    def send(self, data):
        # Short writes, to exercise the send loop.
        chunk = bytes(data[:5])
        if self.sent and self.sent[-1][1]:
            self.sent[-1] = (self.sent[-1][0] + chunk, len(data) > 5)
        else:
            self.sent.append((chunk, len(data) > 5))
        return len(chunk)

    def packets(self):
        return [p for p, _ in self.sent]

    def recv(self, n):
        if not self.buffer:
            if not self.script:
                return b""
            item = self.script.pop(0)
            if isinstance(item, Exception):
                raise item
            self.buffer = item
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def settimeout(self, seconds):
        self.timeouts.append(seconds)

    def close(self):
        self.closed = True


def from_bytes(data):
    it = iter(data)
    return mqtt.decode_length(lambda: next(it))


def test_remaining_length_boundaries():
    for n, enc in (
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (16383, b"\xff\x7f"),
        (16384, b"\x80\x80\x01"),
        (268435455, b"\xff\xff\xff\x7f"),
    ):
        eq(mqtt.encode_length(n), enc)
        eq(from_bytes(enc), n)
    raises(ValueError, mqtt.encode_length, 268435456)


def test_remaining_length_of_five_bytes_is_malformed():
    raises(mqtt.MQTTError, from_bytes, b"\xff\xff\xff\xff\x01")


def test_connect_packet_bytes():
    eq(
        mqtt.connect_packet("twin-0", "rig", "pw", 60),
        b"\x10\x1b\x00\x04MQTT\x04\xc2\x00\x3c\x00\x06twin-0\x00\x03rig\x00\x02pw",
    )


def test_connect_keepalive_zero_and_anonymous():
    data = mqtt.connect_packet("c", "", "ignored", 0)
    eq(data, b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x00\x00\x01c")


def test_publish_packets():
    eq(mqtt.publish_packet("a/b", "{}"), b"\x30\x07\x00\x03a/b{}")
    eq(mqtt.publish_packet("a/b", b"{}", 1, 0x1234, True), b"\x3a\x09\x00\x03a/b\x12\x34{}")


def test_connack_names_and_hint():
    eq(mqtt.connack_name(0), "accepted")
    eq(mqtt.connack_name(5), "not authorized")
    eq(mqtt.connack_name(9), "unknown")
    eq(mqtt.refusal_text(4), "CONNACK 4: bad user name or password")
    eq(mqtt.refusal_text(2), "CONNACK 2: identifier rejected (keepalive 0 refused by Mosquitto >= 2.0.12?)")


def test_parse_connack():
    eq(mqtt.parse_connack(b"\x01\x00"), (True, 0))
    eq(mqtt.parse_connack(b"\x00\x05"), (False, 5))
    raises(mqtt.MQTTError, mqtt.parse_connack, b"\x00")


def test_client_connect_accepted_in_pieces():
    sock = FakeSocket(b"\x20", b"\x02\x00", b"\x00")
    eq(mqtt.Client(sock).connect("twin-0", "rig", "pw", 60), False)
    eq(sock.packets(), [mqtt.connect_packet("twin-0", "rig", "pw", 60)])


def test_client_connect_refused_carries_the_code():
    e = raises(mqtt.RefusedError, mqtt.Client(FakeSocket(b"\x20\x02\x00\x02")).connect, "c", "", "", 0)
    eq(e.rc, 2)
    eq(str(e), mqtt.refusal_text(2))


def test_client_connect_closed_before_connack():
    raises(mqtt.ClosedError, mqtt.Client(FakeSocket(b"\x20\x02")).connect, "c", "u", "p", 60)
    raises(mqtt.ClosedError, mqtt.Client(FakeSocket()).connect, "c", "u", "p", 60)


def test_client_connect_wrong_packet():
    raises(mqtt.MQTTError, mqtt.Client(FakeSocket(b"\xd0\x00")).connect, "c", "u", "p", 60)


def test_qos0_publish_sends_once_and_waits_for_nothing():
    sock = FakeSocket()
    mqtt.Client(sock).publish("t", "m")
    eq(sock.packets(), [mqtt.publish_packet("t", "m")])


def test_qos1_publish_waits_for_its_puback():
    sock = FakeSocket(b"\xd0\x00", b"\x40\x02\x00\x01")
    client = mqtt.Client(sock)
    client.publish("t", "m", 1)
    eq(sock.packets(), [mqtt.publish_packet("t", "m", 1, 1)])
    eq(sock.script, [])


def test_qos1_retries_with_dup_after_timeout():
    sock = FakeSocket(TIMEOUT, b"\x40\x02\x00\x01")
    mqtt.Client(sock).publish("t", "m", 1)
    eq(sock.packets(), [mqtt.publish_packet("t", "m", 1, 1), mqtt.publish_packet("t", "m", 1, 1, True)])


def test_qos1_gives_up_after_bounded_tries():
    sock = FakeSocket(TIMEOUT, TIMEOUT, TIMEOUT, b"\x40\x02\x00\x01")
    e = raises(mqtt.MQTTError, mqtt.Client(sock).publish, "t", "m", 1, 3)
    eq(str(e), "no PUBACK for packet id 1 after 3 tries")
    eq(len(sock.packets()), 3)


def test_qos1_ignores_a_puback_for_another_packet():
    sock = FakeSocket(b"\x40\x02\x00\x01", b"\x40\x02\x00\x02")
    client = mqtt.Client(sock)
    client.pid = 1
    client.publish("t", "m", 1)
    eq(client.pid, 2)
    eq(sock.script, [])


def test_packet_ids_wrap_and_skip_zero():
    sock = FakeSocket(b"\x40\x02\x00\x01")
    client = mqtt.Client(sock)
    client.pid = 0xFFFF
    client.publish("t", "m", 1)
    eq(client.pid, 1)


def test_a_wait_in_silence_pings_before_the_keepalive_runs_out():
    # Keepalive 2 s: the wait is read in 1.5 s slices; the silent first one ends with a PINGREQ.
    sock = FakeSocket(TIMEOUT, b"\xd0\x00", b"\x40\x02\x00\x01")
    mqtt.Client(sock, 2, 5).publish("t", "m", 1)
    eq(sock.packets(), [mqtt.publish_packet("t", "m", 1, 1), b"\xc0\x00"])
    eq(sock.timeouts[:2], [1.5, 5])


def test_the_resend_waits_for_the_whole_wait_not_a_slice():
    # 1.5 + 1.5 + 1.5 + 0.5 s of silence make the 5 s wait: three PINGREQs, then the resend with DUP.
    sock = FakeSocket(TIMEOUT, TIMEOUT, TIMEOUT, TIMEOUT, b"\x40\x02\x00\x01")
    mqtt.Client(sock, 2, 5).publish("t", "m", 1)
    ping = b"\xc0\x00"
    eq(sock.packets(), [mqtt.publish_packet("t", "m", 1, 1), ping, ping, ping, mqtt.publish_packet("t", "m", 1, 1, True)])
    eq(sock.timeouts[0::2], [1.5, 1.5, 1.5, 0.5, 1.5])


def test_without_a_keepalive_a_wait_is_one_slice_and_never_pings():
    sock = FakeSocket(TIMEOUT, b"\x40\x02\x00\x01")
    mqtt.Client(sock, 0, 5).publish("t", "m", 1)
    eq(sock.packets(), [mqtt.publish_packet("t", "m", 1, 1), mqtt.publish_packet("t", "m", 1, 1, True)])
    eq(sock.timeouts[0::2], [5, 5])


def test_disconnect_sends_and_closes():
    sock = FakeSocket()
    mqtt.Client(sock).disconnect()
    eq((sock.packets(), sock.closed), ([b"\xe0\x00"], True))
