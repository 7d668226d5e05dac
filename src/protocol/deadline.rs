//! One deadline per call: everything a public call does (the request, its
//! retries, and the follow-up requests behind it) ends before it.

use std::time::{Duration, Instant};

/// When a call's time is up, and how long it had.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    at: Instant,
    budget: Duration,
}

impl Deadline {
    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + budget,
            budget,
        }
    }

    pub fn at(&self) -> Instant {
        self.at
    }

    pub fn budget(&self) -> Duration {
        self.budget
    }

    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether a follow-up request (a lookup or a check-out behind the
    /// answer the caller asked for) is worth starting: a quarter of the
    /// budget is still left. Work that does not fit is skipped or deferred
    /// to a later call, never allowed to push the call past its deadline.
    pub fn room_for_follow_up(&self) -> bool {
        self.remaining() >= self.budget / 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_ups_need_a_quarter_of_the_budget() {
        let d = Deadline::after(Duration::from_secs(60));
        assert!(d.room_for_follow_up());
        assert!(d.remaining() <= Duration::from_secs(60));
        let spent = Deadline {
            at: Instant::now() + Duration::from_secs(10),
            budget: Duration::from_secs(60),
        };
        assert!(!spent.room_for_follow_up());
        let over = Deadline {
            at: Instant::now(),
            budget: Duration::from_secs(1),
        };
        assert_eq!(over.remaining(), Duration::ZERO);
    }
}
