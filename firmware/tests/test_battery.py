import runner  # first: it puts ../app on sys.path
import battery
from runner import eq

load_tests = runner.unittest_hook(__name__)


def close(a, b, tol=1e-4):
    if abs(a - b) > tol:
        raise AssertionError("%r not within %r of %r" % (a, tol, b))


def reader(values):
    it = iter(values)
    return lambda: next(it)


def test_counts_to_volts_formula():
    close(battery.counts_to_volts(812, 0.0617, 1.0), 812 / (1023 * 0.0617))
    close(battery.counts_to_volts(1023, 1.0, 1.0), 1.0)
    close(battery.counts_to_volts(0, 0.0617, 1.0), 0.0)
    close(battery.counts_to_volts(512, 0.5, 3.2), 512 * 3.2 / (1023 * 0.5))


def test_median_odd_and_even():
    eq(battery.median([3, 1, 2]), 2)
    eq(battery.median([4, 1, 3, 2]), 2.5)


def test_wifi_spikes_are_rejected_and_noise_kept():
    samples = [810, 811, 812, 813, 842, 812, 811, 781, 812]
    eq(battery.reject_outliers(samples), [810, 811, 812, 813, 812, 811, 812])


def test_measure_averages_kept_samples_and_rounds_raw():
    samples = [812, 813, 812, 813, 842, 812, 813, 812]
    raw, volts = battery.measure(reader(samples), len(samples), 0.0617, 1.0)
    eq(raw, 812)  # the 842 spike is dropped; the mean of the other seven is 812.43
    close(volts, battery.counts_to_volts(5687 / 7, 0.0617, 1.0))


def test_measure_reads_n_times():
    calls = []

    def read():
        calls.append(1)
        return 500

    eq(battery.measure(read, 16, 0.0617, 1.0)[0], 500)
    eq(len(calls), 16)


def test_measure_looks_up_counts_to_volts_at_call_time():
    original = battery.counts_to_volts
    battery.counts_to_volts = lambda counts, divider, full_scale_volts: 99.0
    try:
        eq(battery.measure(reader([1, 1]), 2, 1.0, 1.0)[1], 99.0)
    finally:
        battery.counts_to_volts = original


def test_hundredths_rounds_half_up():
    eq(battery.hundredths(12.634), 1263)
    eq(battery.hundredths(12.636), 1264)
    eq(battery.hundredths(11.8), 1180)
    eq(battery.hundredths(0), 0)
    eq(battery.hundredths(-0.126), -13)
