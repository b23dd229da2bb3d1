//! The bench physics of the twin as pure functions; each field says which part of a real bench it stands for.

use rand::Rng;

/// Electrical model of one board and its buck converter.
#[derive(Debug, Clone, PartialEq)]
pub struct Physics {
    /// Battery volts → ADC pin volts (e.g. 1/16.2 for 1.3 MΩ in series with a D1 mini's divider).
    pub divider: f64,
    /// ADC pin volts that read as 1023 counts.
    pub full_scale_volts: f64,
    /// Per-chip ADC gain (1.0 = ideal; real chips differ by about ±5 %).
    pub adc_gain: f64,
    /// Gaussian ADC noise, in counts (σ).
    pub adc_noise_counts: f64,
    /// Chance that one conversion taken while WiFi is on jumps by up to `spike_counts`.
    pub spike_probability: f64,
    pub spike_counts: f64,
    /// Board current at 3.3 V.
    pub awake_amps: f64,
    pub asleep_amps: f64,
    /// Buck converter: efficiency, quiescent current and minimum input volts.
    pub buck_efficiency: f64,
    pub buck_quiescent_amps: f64,
    pub buck_min_volts: f64,
    /// Deep sleep lasts `ms × (1 + drift)`; boards usually wake 1–3 % early.
    pub sleep_drift: f64,
    /// Time from `wlan.connect` to associated.
    pub wifi_connect_ms: (u32, u32),
}

impl Default for Physics {
    fn default() -> Self {
        Physics {
            divider: 1.0 / 16.2,
            full_scale_volts: 1.0,
            adc_gain: 1.0,
            adc_noise_counts: 1.5,
            spike_probability: 1.0 / 500.0,
            spike_counts: 30.0,
            awake_amps: 0.075,
            asleep_amps: 0.0002,
            buck_efficiency: 0.85,
            buck_quiescent_amps: 0.0001,
            buck_min_volts: 4.5,
            sleep_drift: -0.02,
            wifi_connect_ms: (800, 1600),
        }
    }
}

impl Physics {
    /// One ADC conversion of the battery voltage: scaled, noisy, quantised and clamped to 0..=1024.
    pub fn adc_counts(&self, battery_volts: f64, wifi_on: bool, rng: &mut impl Rng) -> u16 {
        let ideal = battery_volts * self.divider / self.full_scale_volts * 1023.0 * self.adc_gain;
        let mut counts = ideal + gaussian(rng) * self.adc_noise_counts;
        if wifi_on && rng.random::<f64>() < self.spike_probability {
            counts += rng.random::<f64>() * self.spike_counts;
        }
        counts.round().clamp(0.0, 1024.0) as u16
    }

    /// Whether the buck converter can run the board from `volts` at its input.
    pub fn powered(&self, volts: f64) -> bool {
        volts >= self.buck_min_volts
    }

    /// Supply-side current of one board: I = Iq + 3.3 V × I_load / (η × V_in).
    pub fn supply_amps(&self, input_volts: f64, load: LoadAmps) -> f64 {
        if !self.powered(input_volts) {
            return 0.0;
        }
        let board = match load {
            LoadAmps::Awake => self.awake_amps,
            LoadAmps::Asleep => self.asleep_amps,
        };
        self.buck_quiescent_amps + 3.3 * board / (self.buck_efficiency * input_volts)
    }

    /// Device seconds a deep sleep of `ms` really lasts, with this board's drift and a little jitter.
    pub fn sleep_secs(&self, ms: u64, rng: &mut impl Rng) -> f64 {
        let jitter = (rng.random::<f64>() - 0.5) * 0.004;
        ms as f64 / 1000.0 * (1.0 + self.sleep_drift + jitter)
    }

    pub fn wifi_delay_ms(&self, rng: &mut impl Rng) -> u32 {
        let (lo, hi) = self.wifi_connect_ms;
        rng.random_range(lo..=hi.max(lo))
    }
}

/// What a board draws, before the buck converter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadAmps {
    Awake,
    Asleep,
}

/// Standard normal sample (Box–Muller); rand's distributions crate would be one more dependency for three lines.
fn gaussian(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::SmallRng, SeedableRng};

    #[test]
    fn adc_mean_tracks_battery_volts_through_the_divider() {
        let physics = Physics::default();
        let mut rng = SmallRng::seed_from_u64(7);
        let n = 4000;
        let mean: f64 = (0..n)
            .map(|_| f64::from(physics.adc_counts(12.6, false, &mut rng)))
            .sum::<f64>()
            / n as f64;
        let expected = 12.6 / 16.2 * 1023.0;
        assert!((mean - expected).abs() < 0.2, "mean {mean} vs {expected}");
    }

    #[test]
    fn adc_clamps_at_full_scale() {
        let physics = Physics::default();
        let mut rng = SmallRng::seed_from_u64(1);
        assert_eq!(physics.adc_counts(40.0, false, &mut rng), 1024);
        assert!(physics.adc_counts(0.0, false, &mut rng) < 10);
    }

    #[test]
    fn buck_refers_load_to_the_supply_side_and_stops_below_minimum() {
        let physics = Physics::default();
        let awake = physics.supply_amps(12.0, LoadAmps::Awake);
        assert!((0.020..0.030).contains(&awake), "awake {awake}");
        let asleep = physics.supply_amps(12.0, LoadAmps::Asleep);
        assert!(asleep < 0.001, "asleep {asleep}");
        assert_eq!(physics.supply_amps(4.0, LoadAmps::Awake), 0.0);
    }

    #[test]
    fn sleep_drifts_early_by_the_configured_fraction() {
        let physics = Physics::default();
        let mut rng = SmallRng::seed_from_u64(3);
        let secs = physics.sleep_secs(60_000, &mut rng);
        assert!((58.6..58.9).contains(&secs), "slept {secs}");
    }
}
