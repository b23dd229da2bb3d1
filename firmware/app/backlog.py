"""The seq counter and the backlog of unsent samples, in RTC user memory across deep sleep.

Layout (big-endian): "HB", version, next seq u32, dropped u16, count u8, then per entry
seq u32, raw u16, centivolts u16, flags u8 (bit 0 low, bits 1-4 reset cause), then a
Fletcher-16 of everything before it. 16 entries take 156 of the 492 bytes.
"""
import struct

MAGIC = b"HB"
VERSION = 1
MAX_ENTRIES = 16

_HEAD = ">2sBIHB"
_ENTRY = ">IHHB"
_ENTRY_SIZE = struct.calcsize(_ENTRY)
_SUM = ">H"
_CAUSE_MAX = 15


class Entry:
    def __init__(self, seq, raw, centivolts, low, cause):
        self.seq = seq
        self.raw = raw
        self.centivolts = centivolts
        self.low = low
        self.cause = cause


class State:
    """The entries stay packed as RTC memory holds them, each made an Entry only when asked for: a full backlog of
    Entry objects took more of the chip's heap than a wake can spare."""

    def __init__(self, seq=0, dropped=0, packed=b""):
        self.seq = seq
        self.dropped = dropped
        self.packed = packed

    def count(self):
        return len(self.packed) // _ENTRY_SIZE

    def entry(self, i):
        """The i-th unsent entry, oldest first."""
        seq, raw, centivolts, flags = struct.unpack_from(_ENTRY, self.packed, i * _ENTRY_SIZE)
        return Entry(seq, raw, centivolts, bool(flags & 1), flags >> 1)

    def add(self, raw, centivolts, low, cause):
        """Queue this wake's sample under the next seq; the oldest gives way when full."""
        entry = Entry(self.seq, raw, centivolts, low, cause)
        flags = (1 if low else 0) | (min(cause, _CAUSE_MAX) << 1)
        self.packed += struct.pack(_ENTRY, self.seq, raw, centivolts, flags)
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        if self.count() > MAX_ENTRIES:
            self.packed = self.packed[_ENTRY_SIZE:]
            self.dropped = min(self.dropped + 1, 0xFFFF)
        return entry

    def sent(self):
        """The oldest entry reached the broker, and with it the dropped count."""
        self.packed = self.packed[_ENTRY_SIZE:]
        self.dropped = 0

    def encode(self):
        out = struct.pack(_HEAD, MAGIC, VERSION, self.seq, self.dropped, self.count()) + self.packed
        return out + struct.pack(_SUM, fletcher16(out))


def fletcher16(data):
    a = b = 0
    for byte in data:
        a = (a + byte) % 255
        b = (b + a) % 255
    return (b << 8) | a


def decode(data):
    """The State kept in data, or a fresh one (seq 0) when data is empty or not ours."""
    head = struct.calcsize(_HEAD)
    if len(data) < head + 2 or data[:2] != MAGIC:
        return State()
    _, version, seq, dropped, count = struct.unpack_from(_HEAD, data, 0)
    body = head + count * _ENTRY_SIZE
    if version != VERSION or count > MAX_ENTRIES or len(data) != body + 2:
        return State()
    if struct.unpack_from(_SUM, data, body)[0] != fletcher16(data[:body]):
        return State()
    return State(seq, dropped, bytes(data[head:body]))
