//! Which probes an environment needs this interval. Probes cost: a chat probe spends tokens (a
//! reasoning model spends thinking tokens whatever `max_tokens` says), so real traffic is the
//! health signal whenever there is some:
//! - an environment that served real traffic in the last interval, is healthy and not held, is
//!   judged from that traffic alone;
//! - one with no real traffic, one not healthy, or a held candidate is probed (`GET <path>`);
//! - the chat `model_probes` and the model list refresh run every `model_probe_interval_ms`, on
//!   request (`relayctl validate`), and on every round while the environment is not healthy (a
//!   missing model must keep failing rounds until it is back).

use super::{Health, Outcome};

/// What the prober knows about one environment at the start of an interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub health: Health,
    /// A failure in the last round (health may not have changed yet).
    pub failing: bool,
    /// Gets no share of the traffic now (a held or 0 % candidate).
    pub held: bool,
    /// The verdict of the last interval's real traffic, if it had any.
    pub passive: Option<Outcome>,
    /// The model probes and the model list are due (their interval passed, or were asked for).
    pub full_due: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Round {
    /// No probe: the real traffic's verdict is the round's.
    Passive(Outcome),
    /// Send `GET <path>` (and the chat probes with `chats`); the round's outcome is the worst
    /// of them and of the traffic's verdict.
    Probe {
        chats: bool,
        passive: Option<Outcome>,
    },
}

pub fn schedule(view: View) -> Round {
    let unwell = view.failing || view.health != Health::Healthy;
    let full = view.full_due || unwell;
    match view.passive {
        Some(passive) if !unwell && !view.held && !full => Round::Passive(passive),
        passive => Round::Probe {
            chats: full,
            passive,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> View {
        View {
            health: Health::Healthy,
            failing: false,
            held: false,
            passive: Some(Outcome::Pass),
            full_due: false,
        }
    }

    #[test]
    fn real_traffic_replaces_probes_for_a_healthy_environment() {
        assert_eq!(schedule(view()), Round::Passive(Outcome::Pass));
        let failed = Outcome::Degraded("x".into());
        let round = schedule(View {
            passive: Some(failed.clone()),
            ..view()
        });
        assert_eq!(round, Round::Passive(failed));
    }

    #[test]
    fn no_traffic_held_or_unwell_means_a_probe() {
        let probe = |chats, passive| Round::Probe { chats, passive };
        assert_eq!(
            schedule(View {
                passive: None,
                ..view()
            }),
            probe(false, None)
        );
        assert_eq!(
            schedule(View {
                held: true,
                ..view()
            }),
            probe(false, Some(Outcome::Pass))
        );
        for health in [Health::Unknown, Health::Degraded, Health::Unhealthy] {
            assert_eq!(
                schedule(View { health, ..view() }),
                probe(true, Some(Outcome::Pass)),
                "{health:?}"
            );
        }
        assert_eq!(
            schedule(View {
                failing: true,
                ..view()
            }),
            probe(true, Some(Outcome::Pass))
        );
    }

    #[test]
    fn model_probes_run_when_due_even_with_traffic() {
        assert_eq!(
            schedule(View {
                full_due: true,
                ..view()
            }),
            Round::Probe {
                chats: true,
                passive: Some(Outcome::Pass)
            }
        );
    }
}
