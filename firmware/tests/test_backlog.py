import runner  # first: it puts ../app on sys.path
import backlog
from runner import eq

load_tests = runner.unittest_hook(__name__)

RTC_MEMORY_BYTES = 492


def entries(state):
    return [state.entry(i) for i in range(state.count())]


def snapshot(state):
    return (state.seq, state.dropped, [(e.seq, e.raw, e.centivolts, e.low, e.cause) for e in entries(state)])


def test_empty_memory_starts_at_seq_zero():
    state = backlog.decode(b"")
    eq(snapshot(state), (0, 0, []))


def test_round_trip():
    state = backlog.State(41)
    state.add(812, 1286, False, 5)
    state.add(700, 1109, True, 0)
    eq(snapshot(backlog.decode(state.encode())), (43, 0, [(41, 812, 1286, False, 5), (42, 700, 1109, True, 0)]))


def test_encoding_is_compact():
    eq(len(backlog.State(7).encode()), 12)


def test_garbage_and_corruption_start_fresh():
    eq(backlog.decode(b"\x00" * 492).seq, 0)
    eq(backlog.decode(b"HB").seq, 0)
    good = backlog.State(9)
    good.add(1, 2, False, 5)
    data = bytearray(good.encode())
    eq(backlog.decode(bytes(data)).seq, 10)
    data[5] ^= 0x01
    eq(snapshot(backlog.decode(bytes(data))), (0, 0, []))
    eq(backlog.decode(good.encode()[:-1]).seq, 0)


def test_overflow_drops_oldest_and_counts():
    state = backlog.State()
    for i in range(backlog.MAX_ENTRIES + 4):
        state.add(i, i, False, 5)
    eq(state.count(), backlog.MAX_ENTRIES)
    eq(state.entry(0).seq, 4)
    eq(state.dropped, 4)
    data = state.encode()
    if len(data) > RTC_MEMORY_BYTES:
        raise AssertionError("full backlog needs %d bytes" % len(data))
    eq(snapshot(backlog.decode(data)), snapshot(state))


def test_sent_removes_oldest_and_clears_dropped():
    state = backlog.State(dropped=2)
    state.add(1, 1, False, 5)
    state.add(2, 2, False, 5)
    state.sent()
    eq((state.dropped, [e.seq for e in entries(state)]), (0, [1]))


def test_unusual_reset_cause_is_clamped():
    state = backlog.State()
    state.add(1, 1, True, 200)
    entry = backlog.decode(state.encode()).entry(0)
    eq((entry.cause, entry.low), (15, True))


def test_seq_wraps_at_32_bits():
    state = backlog.State(0xFFFFFFFF)
    state.add(1, 1, False, 5)
    eq(state.seq, 0)
    eq(backlog.decode(state.encode()).entry(0).seq, 0xFFFFFFFF)
