//! Background revalidation: the client registers a job with its monitor
//! (the "lic-heartbeat" thread), holding only a weak reference to itself so
//! the thread never keeps the client alive. Each run is `validate(0)` —
//! online with offline fallback, never auto-activation (a seat is the
//! app's to spend) — and its events (LICENSE_STATE_CHANGED,
//! OFFLINE_ENTERED/LEFT, GRACE_EXPIRING) go through the client's events.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::{Client, Inner};
use crate::config::LogLevel;
use crate::error::{err, ErrorKind, Result};
use crate::events::{Event, EventKind};
use crate::slots::Revalidate;

/// The interval `start_revalidation` uses when given zero: one hour.
pub const DEFAULT_REVALIDATION_INTERVAL: Duration = Duration::from_secs(3600);

struct Revalidator(Weak<Inner>);

impl Revalidate for Revalidator {
    fn revalidate(&self) -> Option<Vec<Event>> {
        let client = Client {
            inner: self.0.upgrade()?,
        };
        Some(client.revalidate_once())
    }
}

impl Client {
    /// Revalidates from the background thread every `interval` (zero: the
    /// default hour), never more often, plus up to a tenth of it as jitter;
    /// the first run is one interval from now. Starting it again changes the
    /// interval.
    pub fn start_revalidation(&self, interval: Duration) -> Result<()> {
        if self.inner.relay.is_none() {
            self.license_key()?;
        }
        let interval = if interval.is_zero() {
            DEFAULT_REVALIDATION_INTERVAL
        } else {
            interval
        };
        if interval > Duration::from_secs(366 * 86_400) {
            return err(
                ErrorKind::InvalidArgument,
                "the revalidation interval is longer than a year",
            );
        }
        let job = Arc::new(Revalidator(Arc::downgrade(&self.inner)));
        self.monitor()?.start_revalidation(interval, job)?;
        self.log(LogLevel::Info, || {
            format!("background revalidation every {} s", interval.as_secs_f32())
        });
        Ok(())
    }

    /// Stops the background revalidation; not running is success.
    pub fn stop_revalidation(&self) {
        if let Some(m) = self.inner.monitor.get() {
            m.stop_revalidation();
        }
    }

    /// One background revalidation: its events, plus OFFLINE_ENTERED when
    /// it got no answer at all (no server, no offline evidence) after
    /// online answers.
    fn revalidate_once(&self) -> Vec<Event> {
        let (res, mut events) = self.validate_noting(0, "revalidate");
        if let Err(e) = res {
            self.log(LogLevel::Warn, || format!("background revalidation: {e}"));
            let no_answer = e.is_no_answer()
                || matches!(e.kind, ErrorKind::NoOfflineData | ErrorKind::NoPublicKey);
            let mut last = self.inner.last_verdict.lock();
            if let Some((online @ true, _)) = last.as_mut() {
                if no_answer {
                    *online = false;
                    events.push(Event::new(
                        EventKind::OfflineEntered,
                        None,
                        format!("no answer and no offline evidence: {}", e.message),
                    ));
                }
            }
        }
        events
    }
}
