# Battery voltage from the ADC: A0 sits behind a resistor divider from the 12 V battery.
import machine


def read_volts(samples, divider, full_scale_volts):
    adc = machine.ADC(0)
    total = 0
    for _ in range(samples):
        total += adc.read()
    counts = total / samples
    return counts * full_scale_volts / (1023 * divider)
