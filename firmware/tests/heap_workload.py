"""Heap a firmware's kinds of allocation take on this MicroPython VM, for runner/tests/heap_calibration.rs: run
on the twin's unix port (64-bit) and on the WebAssembly port (32-bit, as the ESP8266), in a folder holding the
app's pure modules as .mpy. Prints `KIND BYTES` lines: live heap after a collection, for what each kind keeps."""
import gc


def live():
    gc.collect()
    return gc.mem_alloc()


def measure(kind, make):
    before = live()
    kept = make()
    print(kind, live() - before)
    return kept


def buffers():
    return [bytearray(4000), bytes(3000), "x" * 2000, b"y" * 1000]


def code():
    import backlog
    import battery
    import config
    import mqtt
    import payload

    return [backlog, battery, config, mqtt, payload]


def objects():
    return [{"seq": i, "v": i / 100, "late": False} for i in range(40)] + [(i, [i, i + 1]) for i in range(40)]


kept = [measure("buffers", buffers), measure("code", code), measure("objects", objects)]
