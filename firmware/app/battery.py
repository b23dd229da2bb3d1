"""Battery volts from the ESP8266 ADC: many readings, outliers dropped, averaged, converted."""

# WiFi spikes reach 30 counts while plain noise stays within ~2; anything further
# than this from the median is a spike.
OUTLIER_COUNTS = 8


def counts_to_volts(counts, divider, full_scale_volts):
    return counts * full_scale_volts / (1023 * divider)


def median(values):
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def reject_outliers(samples, limit=OUTLIER_COUNTS):
    centre = median(samples)
    return [s for s in samples if abs(s - centre) <= limit]


def hundredths(x):
    """x rounded half-up to an integer number of hundredths (exact, unlike float rounding)."""
    return int(x * 100 + 0.5) if x >= 0 else -int(-x * 100 + 0.5)


def measure(read, n, divider, full_scale_volts):
    """Take n readings with read(); return (mean counts rounded, volts)."""
    samples = [read() for _ in range(n)]
    kept = reject_outliers(samples)
    mean = sum(kept) / len(kept)
    # Looked up at call time so a test can wrap counts_to_volts.
    volts = counts_to_volts(mean, divider, full_scale_volts)
    return int(mean + 0.5), volts
