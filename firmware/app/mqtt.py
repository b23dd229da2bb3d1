"""A small MQTT 3.1.1 client: a packet codec and a blocking client over one socket."""
import struct

CONNECT = 0x10
CONNACK = 0x20
PUBLISH = 0x30
PUBACK = 0x40
PINGREQ = 0xC0
DISCONNECT = 0xE0

DUP_FLAG = 0x08

CONNACK_NAMES = (
    "accepted",
    "unacceptable protocol version",
    "identifier rejected",
    "server unavailable",
    "bad user name or password",
    "not authorized",
)
_HINTS = {2: "keepalive 0 refused by Mosquitto >= 2.0.12?"}

MAX_REMAINING = 268435455


class MQTTError(Exception):
    pass


class ClosedError(MQTTError):
    """The broker closed the connection."""


class RefusedError(MQTTError):
    def __init__(self, rc):
        self.rc = rc
        super().__init__(refusal_text(rc))


def connack_name(rc):
    return CONNACK_NAMES[rc] if 0 <= rc < len(CONNACK_NAMES) else "unknown"


def refusal_text(rc):
    text = "CONNACK %d: %s" % (rc, connack_name(rc))
    if rc in _HINTS:
        text += " (" + _HINTS[rc] + ")"
    return text


def encode_length(n):
    if n < 0 or n > MAX_REMAINING:
        raise ValueError("remaining length out of range")
    out = bytearray()
    while True:
        digit = n & 0x7F
        n >>= 7
        out.append(digit | 0x80 if n else digit)
        if not n:
            return bytes(out)


def decode_length(next_byte):
    """Remaining length from a function returning one byte (int) at a time."""
    value = 0
    for shift in (0, 7, 14, 21):
        byte = next_byte()
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
    raise MQTTError("malformed remaining length")


def encode_string(s):
    data = s.encode() if isinstance(s, str) else bytes(s)
    if len(data) > 0xFFFF:
        raise ValueError("string too long")
    return struct.pack(">H", len(data)) + data


def packet(first_byte, body=b""):
    return bytes((first_byte,)) + encode_length(len(body)) + body


def connect_packet(client_id, username, password, keepalive):
    """CONNECT with a clean session; the password is sent only with a user name, as 3.1.1 requires."""
    flags = 0x02
    payload = encode_string(client_id)
    if username:
        flags |= 0x80
        payload += encode_string(username)
        if password:
            flags |= 0x40
            payload += encode_string(password)
    head = encode_string("MQTT") + struct.pack(">BBH", 4, flags, keepalive)
    return packet(CONNECT, head + payload)


def publish_packet(topic, message, qos=0, pid=0, dup=False):
    first = PUBLISH | (qos << 1) | (DUP_FLAG if dup else 0)
    body = encode_string(topic)
    if qos:
        body += struct.pack(">H", pid)
    body += message.encode() if isinstance(message, str) else bytes(message)
    return packet(first, body)


def parse_connack(body):
    """(session_present, return code)."""
    if len(body) != 2:
        raise MQTTError("malformed CONNACK")
    return bool(body[0] & 1), body[1]


def parse_packet_id(body):
    if len(body) != 2:
        raise MQTTError("malformed packet id")
    return struct.unpack(">H", body)[0]


def open_socket(host, port, timeout_s):
    # Imported here so the codec also loads where there are no sockets (the wasm test VM).
    import socket

    info = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    sock = socket.socket(info[0], info[1], info[2])
    try:
        sock.settimeout(timeout_s)
        sock.connect(info[-1])
    except BaseException:
        sock.close()
        raise
    return sock


class Client:
    """Blocking client over a connected socket. A wait for the broker lasts wait_s at most, read in slices short
    enough to keep the keepalive: a slice that passes in silence ends with a PINGREQ."""

    def __init__(self, sock, keepalive_s=0, wait_s=5):
        self.sock = sock
        self.pid = 0
        self.wait_s = wait_s
        # Three quarters of the keepalive, so the PINGREQ is on its way before the keepalive runs out.
        self.slice_s = min(wait_s, keepalive_s * 3 / 4) if keepalive_s else wait_s

    def send(self, data):
        view = memoryview(data)
        while len(view):
            n = self.sock.send(view)
            view = view[n:]

    def recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ClosedError("connection closed by broker")
            data += chunk
        return data

    def read_body(self):
        """The rest of a packet whose first byte was read."""
        length = decode_length(lambda: self.recv_exact(1)[0])
        return self.recv_exact(length)

    def connect(self, client_id, username, password, keepalive):
        """Returns session_present; raises RefusedError for a non-zero return code."""
        self.send(connect_packet(client_id, username, password, keepalive))
        first = self.recv_exact(1)[0]
        body = self.read_body()
        if first != CONNACK:
            raise MQTTError("expected CONNACK, got packet 0x%02x" % first)
        present, rc = parse_connack(body)
        if rc:
            raise RefusedError(rc)
        return present

    def publish(self, topic, message, qos=0, tries=3):
        """QoS 1 waits for PUBACK and resends with DUP set after each wait in vain, tries times in all."""
        if not qos:
            self.send(publish_packet(topic, message))
            return
        self.pid = self.pid % 0xFFFF + 1
        for attempt in range(tries):
            self.send(publish_packet(topic, message, qos, self.pid, attempt > 0))
            try:
                self.wait_for(PUBACK, self.pid)
                return
            except OSError:
                # A timeout: try again. A dead socket fails on the next send instead.
                pass
        raise MQTTError("no PUBACK for packet id %d after %d tries" % (self.pid, tries))

    def wait_for(self, kind, pid=None):
        """Reads until that packet comes, skipping others (a late PUBACK of an earlier try, a PINGRESP); raises
        OSError once wait_s passed without it."""
        waited = 0
        while True:
            timeout = min(self.slice_s, self.wait_s - waited)
            self.sock.settimeout(timeout)
            try:
                first = self.recv_exact(1)[0]
            except OSError:
                waited += timeout
                if waited >= self.wait_s:
                    raise
                self.send(packet(PINGREQ))
                continue
            finally:
                self.sock.settimeout(self.wait_s)
            body = self.read_body()
            if first & 0xF0 == kind and (pid is None or parse_packet_id(body) == pid):
                return

    def disconnect(self):
        try:
            self.send(packet(DISCONNECT))
        finally:
            self.sock.close()
