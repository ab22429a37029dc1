//! Liveness: the deadlines of a connection (keepalive, idle (read) timeout and the closing
//! handshake).
//!
//! The core reads no clock. The adapter passes the current time to
//! [`Connection::handle_timeout`](crate::Connection::handle_timeout) whenever it polls and arms
//! one timer for [`Connection::poll_timeout`](crate::Connection::poll_timeout); everything else
//! (what is due, what to send, when to give up) is decided here, identically for every runtime.

use super::closing::Closing;
use super::Connection;
use crate::error::ProtocolError;
use crate::extension::Rsv;
use crate::frame::OpCode;
use bytes::Bytes;
use std::time::{Duration, Instant};

/// Which deadline ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timeout {
    /// Nothing was received for [`Config::idle_timeout`](crate::Config::idle_timeout).
    Idle,
    /// A keepalive ping got no answer (no bytes at all) within
    /// [`Config::keepalive_timeout`](crate::Config::keepalive_timeout): the peer or the path is
    /// dead.
    Keepalive,
    /// The closing handshake did not finish within
    /// [`Config::close_timeout`](crate::Config::close_timeout) of our close frame.
    Close,
}

impl std::fmt::Display for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Timeout::Idle => "idle timeout",
            Timeout::Keepalive => "keepalive timeout",
            Timeout::Close => "closing handshake timeout",
        })
    }
}

/// What [`Connection::handle_timeout`] did at the time passed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Due {
    /// No deadline was reached.
    Nothing,
    /// The keepalive interval passed in silence: a ping is queued, write the output.
    Ping,
    /// A deadline ran out. [`Timeout::Idle`] and [`Timeout::Keepalive`] failed the connection
    /// (a close frame with 1001 is queued and [`Connection::next_event`] returns
    /// [`ProtocolError::TimedOut`]); [`Timeout::Close`] gave up on the closing handshake. Ask
    /// [`Connection::next_step`] what to do with the transport.
    Expired(Timeout),
}

/// The deadlines a connection keeps, in the order they are acted on when several are due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timer {
    /// The closing handshake must be over (the only deadline once our close is queued).
    Close,
    /// A keepalive ping must be answered.
    Pong,
    /// Something must arrive (read timeout).
    Idle,
    /// A keepalive ping is due.
    Ping,
}

impl Timer {
    const ALL: [Timer; 4] = [Timer::Close, Timer::Pong, Timer::Idle, Timer::Ping];
}

/// Every deadline of a connection at one moment: the schedule, computed in one place
/// ([`Timers::table`]) for both "what is due" and "when to wake up".
#[derive(Clone, Copy, Debug, Default)]
struct TimerTable([Option<Instant>; 4]);

impl TimerTable {
    fn get(&self, timer: Timer) -> Option<Instant> {
        self.0[timer as usize]
    }

    fn set(&mut self, timer: Timer, deadline: Option<Instant>) {
        self.0[timer as usize] = deadline;
    }

    /// The first timer, in the order they are acted on, whose deadline `now` reached.
    fn due(&self, now: Instant) -> Option<Timer> {
        Timer::ALL
            .into_iter()
            .find(|&timer| self.get(timer).is_some_and(|deadline| now >= deadline))
    }

    /// The earliest deadline.
    fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }
}

/// The clock-derived state of a connection; all instants come from the adapter.
///
/// Events between two calls of `set_now` (bytes moving, our close frame queued) are stamped
/// with the time of the next call: the adapter's clock may be stale at the moment they happen
/// (it passes time in when it is about to wait), and a late stamp only postpones deadlines.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    /// The latest time the adapter passed in; `None` until it passes one.
    now: Option<Instant>,
    /// When bytes last moved either way (or when timekeeping started).
    last_activity: Option<Instant>,
    /// Bytes moved since the last `set_now`.
    activity: bool,
    /// An unanswered keepalive ping must be answered (by any bytes) before this.
    pong_deadline: Option<Instant>,
    /// The closing handshake must be over by this.
    close_deadline: Option<Instant>,
}

/// The deadlines a connection's settings ask for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub idle: Option<Duration>,
    pub keepalive: Option<Duration>,
    pub keepalive_timeout: Duration,
    pub close: Duration,
}

impl Timers {
    /// Takes the adapter's current time.
    pub(crate) fn set_now(&mut self, now: Instant) {
        // A clock that appears to go backwards (a caller mixing sources) never rewinds
        // deadlines already armed.
        let now = self.now.map_or(now, |prev| prev.max(now));
        self.now = Some(now);
        if std::mem::take(&mut self.activity) || self.last_activity.is_none() {
            self.last_activity = Some(now);
        }
    }

    /// Bytes arrived: the peer is alive, the idle and keepalive clocks restart.
    pub(crate) fn received(&mut self) {
        self.activity = true;
        self.pong_deadline = None;
    }

    /// Bytes of ours were written. The idle and keepalive clocks restart (a connection busy
    /// sending is not idle), and once a keepalive ping is out, further progress shows the
    /// peer's TCP still takes data; a dead peer stops taking it when its buffers fill.
    pub(crate) fn sent(&mut self, after_ping: bool) {
        self.activity = true;
        if after_ping {
            self.pong_deadline = None;
        }
    }

    /// The schedule at the current time. `open` says whether data still flows (keepalive and
    /// idle apply only then); `closing` whether our close frame is out (then only the close
    /// deadline applies).
    fn table(&self, limits: &Limits, open: bool, closing: bool) -> TimerTable {
        let mut table = TimerTable::default();
        let Some(now) = self.now else {
            return table;
        };
        if closing {
            // Armed (by `expire`) at the first time passed in after our close was queued.
            table.set(
                Timer::Close,
                Some(self.close_deadline.unwrap_or(now + limits.close)),
            );
            return table;
        }
        if !open {
            return table;
        }
        // Traffic not yet stamped by `set_now` counts from the latest time known.
        let last_activity = match self.last_activity {
            Some(at) if !self.activity => at,
            _ => now,
        };
        table.set(Timer::Idle, limits.idle.map(|idle| last_activity + idle));
        match self.pong_deadline {
            Some(deadline) => table.set(Timer::Pong, Some(deadline)),
            None => table.set(Timer::Ping, limits.keepalive.map(|k| last_activity + k)),
        }
        table
    }

    /// Acts on what is due at the current time: arms the close deadline, and the pong deadline
    /// when a ping is due.
    pub(crate) fn expire(&mut self, limits: &Limits, open: bool, closing: bool) -> Due {
        let Some(now) = self.now else {
            return Due::Nothing;
        };
        let table = self.table(limits, open, closing);
        if closing {
            self.close_deadline = table.get(Timer::Close);
        }
        match table.due(now) {
            None => Due::Nothing,
            Some(Timer::Close) => Due::Expired(Timeout::Close),
            Some(Timer::Pong) => Due::Expired(Timeout::Keepalive),
            Some(Timer::Idle) => Due::Expired(Timeout::Idle),
            Some(Timer::Ping) => {
                self.pong_deadline = Some(now + limits.keepalive_timeout);
                Due::Ping
            }
        }
    }

    /// The earliest deadline still to come, for the adapter's timer.
    pub(crate) fn next_deadline(
        &self,
        limits: &Limits,
        open: bool,
        closing: bool,
    ) -> Option<Instant> {
        self.table(limits, open, closing).next()
    }
}

impl Connection {
    pub(super) fn limits(&self) -> Limits {
        Limits {
            idle: self.config.idle_timeout,
            keepalive: self.config.keepalive_interval,
            keepalive_timeout: self.config.keepalive_timeout,
            close: self.config.close_timeout,
        }
    }

    /// Whether data still flows both ways (no close sent or received, no failure, no EOF).
    pub(super) fn is_open(&self) -> bool {
        self.closing == Closing::Open && !self.eof
    }

    /// Passes the current time in and acts on every deadline it reached: queues a keepalive
    /// ping, fails the connection with [`ProtocolError::TimedOut`] (returned by the next
    /// [`next_event`](Self::next_event); 1001 is queued) when the idle or keepalive deadline
    /// ran out, or gives up on the closing handshake (then
    /// [`next_step`](Self::next_step) says [`Next::Close`](super::Next::Close)).
    ///
    /// The adapter calls it when it is about to wait: after reading everything the transport
    /// had (so an answer sitting unread is never taken for silence), or when the transport
    /// will not take more output; then it arms a timer for
    /// [`poll_timeout`](Self::poll_timeout). It returns what it did: [`Due::Ping`] means output
    /// to write, [`Due::Expired`] that [`next_step`](Self::next_step) changed. Time only enters here: bytes received or written
    /// since the previous call, and a close frame queued since then, count from this `now`
    /// (a late stamp only postpones deadlines). Keepalive and idle count any traffic, either
    /// way; a keepalive ping is answered by anything received, or by our output moving on
    /// past the ping.
    pub fn handle_timeout(&mut self, now: Instant) -> Due {
        self.timers.set_now(now);
        if self.gave_up() {
            return Due::Nothing;
        }
        let limits = self.limits();
        let due = self
            .timers
            .expire(&limits, self.is_open(), self.closing.close_sent());
        match due {
            Due::Nothing => {}
            Due::Ping => {
                let mask = self.mask();
                self.out
                    .push_frame(OpCode::Ping, true, Rsv::NONE, &Bytes::new(), mask);
                self.ping_unwritten = self.out.len();
            }
            Due::Expired(Timeout::Close) => self.timed_out = Some(Timeout::Close),
            Due::Expired(timeout) => {
                let error = ProtocolError::TimedOut(timeout);
                self.fail(&error);
                self.timed_out = Some(timeout);
                self.pending_error = Some(error);
            }
        }
        due
    }

    /// The next deadline, when the adapter should call [`handle_timeout`](Self::handle_timeout)
    /// even if nothing else happens; `None` when no deadline is armed (or no time was passed
    /// in yet).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.gave_up() {
            return None;
        }
        self.timers
            .next_deadline(&self.limits(), self.is_open(), self.closing.close_sent())
    }

    /// A deadline ran out after which nothing is waited for: the transport closes now. (After
    /// an idle timeout the close frame still gets `close_timeout` to go out.)
    pub(super) fn gave_up(&self) -> bool {
        matches!(self.timed_out, Some(Timeout::Close | Timeout::Keepalive))
    }

    /// The deadline that ended the connection, if one did.
    pub fn timed_out(&self) -> Option<Timeout> {
        self.timed_out
    }
}
