"""MicroPython's `socket` in the ESP8266's shape over the unix port's real sockets: getaddrinfo gives
`('ip', port)` tuples and connect takes them (lwIP's shape; the unix port's raw sockaddr bytearrays would break
firmware that works on a board), a timed-out receive is ETIMEDOUT, as lwIP says it, and timeouts count device time."""
import micropython
import usocket as _s

import _hil

AF_INET = _s.AF_INET
AF_INET6 = 10
SOCK_STREAM = _s.SOCK_STREAM
SOCK_DGRAM = _s.SOCK_DGRAM
SOCK_RAW = _s.SOCK_RAW
IPPROTO_IP = 0
IPPROTO_TCP = 6
IPPROTO_UDP = 17
SOL_SOCKET = _s.SOL_SOCKET
SO_REUSEADDR = _s.SO_REUSEADDR

_ETIMEDOUT = 110
_EAGAIN = 11


@micropython.native
def _tuple(sockaddr):
    # struct sockaddr_in: family (2), port (2, big-endian), IPv4 address (4).
    port = (sockaddr[2] << 8) | sockaddr[3]
    return ("%d.%d.%d.%d" % (sockaddr[4], sockaddr[5], sockaddr[6], sockaddr[7]), port)


@micropython.native
def _sockaddr(addr):
    if isinstance(addr, tuple):
        return _s.getaddrinfo(addr[0], addr[1])[0][-1]
    return addr


@micropython.native
def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0):
    _hil.sample_heap()
    out = []
    for info in _s.getaddrinfo(host, port):
        if info[0] == AF_INET:
            out.append((AF_INET, SOCK_STREAM, IPPROTO_TCP, "", _tuple(info[-1])))
    return out[:1]


class socket(_s.socket):
    @micropython.native
    def __init__(self, af=AF_INET, type=SOCK_STREAM, proto=IPPROTO_TCP):
        super().__init__(af, type, proto)
        self._timeout = None

    @micropython.native
    def settimeout(self, value):
        # Timeouts run on the device clock, as every wait of the chip does: at --speed 20 a 5 s wait is 0.25 s.
        self._timeout = value
        super().settimeout(None if value is None else value / _hil.SPEED)

    @micropython.native
    def connect(self, addr):
        _hil.sample_heap()
        super().connect(_sockaddr(addr))

    @micropython.native
    def bind(self, addr):
        super().bind(_sockaddr(addr))

    @micropython.native
    def _timed_out(self, e):
        if self._timeout and e.errno == _EAGAIN:
            return OSError(_ETIMEDOUT)
        return e

    @micropython.native
    def recv(self, n):
        _hil.sample_heap()
        try:
            return super().recv(n)
        except OSError as e:
            raise self._timed_out(e)

    @micropython.native
    def read(self, n=-1):
        _hil.sample_heap()
        try:
            return super().read(n) if n >= 0 else super().read()
        except OSError as e:
            raise self._timed_out(e)

    @micropython.native
    def readline(self):
        try:
            return super().readline()
        except OSError as e:
            raise self._timed_out(e)

    @micropython.native
    def send(self, data):
        _hil.sample_heap()
        return super().send(data)

    @micropython.native
    def write(self, data, *span):
        # The chip's stream write: write(buf), write(buf, max_len) or write(buf, off, max_len) (umqtt.simple
        # writes packet headers as write(buf, len)).
        _hil.sample_heap()
        return super().write(data, *span)

    @micropython.native
    def sendall(self, data):
        _hil.sample_heap()
        return super().write(data)
