//! Device time: every event and every scenario time is in device seconds since the scenario started.
//! On the twin, device time may run `speed` times faster than the wall clock; on hardware speed is 1.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy)]
pub struct DeviceClock {
    start: Instant,
    epoch_unix: f64,
    speed: f64,
}

impl DeviceClock {
    /// Starts device time at 0 now. `speed` must be ≥ 1 (checked by the caller's argument parsing).
    pub fn start(speed: f64) -> Self {
        let epoch_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        DeviceClock {
            start: Instant::now(),
            epoch_unix,
            speed,
        }
    }

    /// Device seconds since start.
    pub fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * self.speed
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Unix time (real clock) at which device time was 0; handed to the firmware's host runtime.
    pub fn epoch_unix(&self) -> f64 {
        self.epoch_unix
    }

    /// Wall-clock duration of `device_secs` of device time.
    pub fn real(&self, device_secs: f64) -> Duration {
        Duration::from_secs_f64((device_secs / self.speed).max(0.0))
    }

    /// Wall-clock time from now until device time `device_t` (zero once it has passed): the caller sleeps it on
    /// its own runtime, so this crate needs none.
    pub fn real_until(&self, device_t: f64) -> Duration {
        self.real(device_t - self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_duration_is_device_time_over_speed() {
        let clock = DeviceClock::start(20.0);
        assert_eq!(clock.real(60.0), Duration::from_secs(3));
        assert_eq!(clock.real(-1.0), Duration::ZERO);
    }
}
