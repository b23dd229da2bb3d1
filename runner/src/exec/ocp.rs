//! Over-current protection on the bench's channels, watched while the timeline runs (it is armed as each channel
//! is prepared, `BenchChannel::prepare`): a trip becomes `supply.ocp_trip`.

use super::bench::BenchChannel;
use super::supply_tasks::Stop;
use model::events::{Body, EventLog};
use std::time::Duration;

/// How often (wall time) a channel's supply is asked whether its protection tripped.
const POLL: Duration = Duration::from_millis(250);

/// Asks the channel's supply whether its protection tripped until it has (recorded once), the supply cannot
/// tell, or the run stops it. Failed queries are left to the sampler, which records the link's failures.
pub async fn watch(channel: BenchChannel, log: EventLog, mut stop: Stop) {
    let label = channel.label();
    let (supply, ch) = (channel.supply, channel.channel);
    let Some(ocp) = supply.over_current() else {
        return;
    };
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while stop.unless_stopped(tick.tick()).await.is_some() {
        match ocp.tripped(ch).await {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::supply_tasks::SupplyTasks;
    use model::clock::DeviceClock;
    use rig::supply::{ChannelLimits, Dialect, ScpiSupply};
    use std::sync::Arc;
    use twin::{BenchState, LoadState, Physics, ScpiServer};

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
        channel.arm_over_current(0.5, Some(&log)).await.unwrap();
        channel.supply.set_output(1, true).await.unwrap();
        let tasks = SupplyTasks::new();
        let (c, l) = (channel.clone(), log.clone());
        tasks.spawn(move |stop| watch(c, l, stop));
        bench.set_load(board, LoadState::Awake);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !log
            .events()
            .iter()
            .any(|e| matches!(e.body, Body::SupplyOcpTrip { .. }))
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the watcher saw the trip within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tasks.halt().await;
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
