//! Over-current protection on the bench's channels: armed at each channel's trip level before its output goes on
//! (`supply.ocp`), then watched while the timeline runs, a trip becoming `supply.ocp_trip`.

use super::bench::BenchChannel;
use crate::events::{Body, EventLog};
use anyhow::{Context, Result};
use rig::supply::OverCurrentProtection;
use std::future::Future;
use std::time::Duration;

/// How often (wall time) a channel's supply is asked whether its protection tripped.
const POLL: Duration = Duration::from_millis(250);

/// Arms the channel's protection at its trip level and, given a log, records how it trips: at that level, at the
/// channel's `current_limit` (an instrument without a level of its own), or not at all (one without protection).
pub async fn arm(channel: &BenchChannel, current_limit: f64, log: Option<&EventLog>) -> Result<()> {
    let label = channel.label();
    let protection = channel
        .supply
        .set_over_current_protection(channel.channel, Some(channel.trip_amps))
        .await
        .with_context(|| format!("arming {label}'s over-current protection"))?;
    if let Some(log) = log {
        let (trip, amps) = match protection {
            OverCurrentProtection::TripsAt(amps) => ("level", Some(amps)),
            OverCurrentProtection::TripsAtCurrentLimit => ("current-limit", Some(current_limit)),
            OverCurrentProtection::Off | OverCurrentProtection::Unsupported => ("none", None),
        };
        log.record(Body::SupplyOcp {
            supply: label,
            trip: trip.into(),
            amps,
        });
    }
    Ok(())
}

/// Asks the channel's supply whether its protection tripped until it has (recorded once) or the supply cannot
/// tell. Failed queries are left to the sampler, which records the link's failures; the run aborts this task.
pub fn watch(channel: &BenchChannel, log: EventLog) -> impl Future<Output = ()> + Send + 'static {
    let (supply, ch, label) = (channel.supply.clone(), channel.channel, channel.label());
    async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            match supply.over_current_tripped(ch).await {
                Ok(Some(true)) => {
                    tracing::warn!("{label}: the over-current protection switched the output off");
                    log.record(Body::SupplyOcpTrip { supply: label });
                    return;
                }
                Ok(None) => return,
                Ok(Some(false)) | Err(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rig::clock::DeviceClock;
    use rig::supply::{ChannelLimits, Dialect, ScpiSupply};
    use rig::twin::{BenchState, LoadState, Physics, ScpiServer};
    use std::sync::Arc;

    #[tokio::test]
    async fn a_trip_on_the_twin_is_recorded_once_after_the_arming() {
        let bench = Arc::new(BenchState::new(1));
        let server = ScpiServer::start(bench.clone(), DeviceClock::start(1.0))
            .await
            .unwrap();
        let limits = ChannelLimits {
            max_volts: 16.0,
            max_amps: 1.0,
        };
        let supply = ScpiSupply::new(
            "twin",
            &server.address(),
            Dialect::RigolDp800,
            [(1, limits)],
        )
        .unwrap();
        let channel = BenchChannel {
            supply: Arc::new(supply),
            channel: 1,
            safe_volts: None,
            trip_amps: 0.01,
        };
        let log = EventLog::create(None, DeviceClock::start(1.0)).unwrap();
        let board = bench.add_board(0, Physics::default());
        channel.supply.set_volts(1, 12.0).await.unwrap();
        channel.supply.set_current_limit(1, 0.5).await.unwrap();
        arm(&channel, 0.5, Some(&log)).await.unwrap();
        channel.supply.set_output(1, true).await.unwrap();
        let watcher = tokio::spawn(watch(&channel, log.clone()));
        bench.set_load(board, LoadState::Awake);
        tokio::time::timeout(Duration::from_secs(5), watcher)
            .await
            .expect("the watcher saw the trip within 5 s")
            .unwrap();
        let bodies: Vec<Body> = log.events().into_iter().map(|e| e.body).collect();
        assert_eq!(
            bodies,
            [
                Body::SupplyOcp {
                    supply: "twin:1".into(),
                    trip: "level".into(),
                    amps: Some(0.01)
                },
                Body::SupplyOcpTrip {
                    supply: "twin:1".into()
                }
            ]
        );
        assert!(!bench.channel(0).output_on);
    }
}
