//! The supply's voltage over device time, from the scenario's profile steps.

/// One validated profile step. `line` is where it stands in the scenario file, for error messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub at: f64,
    pub action: Action,
    pub line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    Set(f64),
    Ramp { to: f64, over: f64 },
}

/// Steps in time order; the first sets a voltage at t = 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub steps: Vec<Step>,
}

impl Profile {
    /// The commanded voltage at device time `t`.
    pub fn volts_at(&self, t: f64) -> f64 {
        let mut volts = 0.0;
        for step in &self.steps {
            if step.at > t {
                break;
            }
            match step.action {
                Action::Set(v) => volts = v,
                Action::Ramp { to, over } => {
                    let done = if over > 0.0 {
                        ((t - step.at) / over).min(1.0)
                    } else {
                        1.0
                    };
                    volts += (to - volts) * done;
                    if done < 1.0 {
                        // Mid-ramp: the remainder of this step is still ahead.
                        return volts;
                    }
                    volts = to;
                }
            }
        }
        volts
    }

    /// The highest voltage the profile asks for, and the line that asks it.
    pub fn max_volts(&self) -> (f64, usize) {
        self.steps
            .iter()
            .map(|s| match s.action {
                Action::Set(v) | Action::Ramp { to: v, .. } => (v, s.line),
            })
            .fold((f64::MIN, 0), |best, x| if x.0 > best.0 { x } else { best })
    }

    /// Whether the voltage is changing at `t` (inside a ramp).
    pub fn ramping_at(&self, t: f64) -> bool {
        self.steps.iter().any(|s| match s.action {
            Action::Ramp { over, .. } => t >= s.at && t < s.at + over,
            Action::Set(_) => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        Profile {
            steps: vec![
                Step {
                    at: 0.0,
                    action: Action::Set(13.6),
                    line: 1,
                },
                Step {
                    at: 120.0,
                    action: Action::Ramp {
                        to: 11.2,
                        over: 900.0,
                    },
                    line: 2,
                },
                Step {
                    at: 1080.0,
                    action: Action::Set(12.6),
                    line: 3,
                },
            ],
        }
    }

    #[test]
    fn holds_steps_and_interpolates_ramps() {
        let p = profile();
        assert_eq!(p.volts_at(0.0), 13.6);
        assert_eq!(p.volts_at(119.0), 13.6);
        assert!((p.volts_at(570.0) - 12.4).abs() < 1e-9);
        assert_eq!(p.volts_at(1020.0), 11.2);
        assert_eq!(p.volts_at(1079.0), 11.2);
        assert_eq!(p.volts_at(2000.0), 12.6);
        assert!(p.ramping_at(500.0));
        assert!(!p.ramping_at(1050.0));
    }

    #[test]
    fn reports_the_highest_voltage_and_its_line() {
        assert_eq!(profile().max_volts(), (13.6, 1));
    }
}
