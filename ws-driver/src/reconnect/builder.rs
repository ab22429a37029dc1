//! Settings of a reconnecting client: how to connect, back off, queue and report.

use super::backoff::{Backoff, JitterRng};
use super::events::{EventQueue, Events};
use super::policy::Event;
use super::queue::{EventFn, QueuePolicy};
use super::Connector;
use crate::config::ClientConfig;
use crate::error::Error;
use crate::stream::WebSocketStream;
use futures_core::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;
use ws_handshake::IntoClientRequest;

/// The default capacity of the outgoing queue.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;

/// The default bound of one connection attempt (TCP connect, TLS, handshake, `on_connect`).
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) type OnConnect<T> = Arc<
    dyn for<'a> Fn(&'a mut WebSocketStream<T>) -> BoxFuture<'a, Result<(), Error>> + Send + Sync,
>;

/// Settings of a [`ReconnectingClient`](super::ReconnectingClient); made by
/// [`ReconnectingClient::builder`](super::ReconnectingClient::builder).
pub struct Builder<C: Connector> {
    pub(super) connector: C,
    pub(super) request: Result<http::Request<()>, Error>,
    pub(super) config: ClientConfig,
    pub(super) backoff: Backoff,
    pub(super) capacity: usize,
    pub(super) policy: QueuePolicy,
    pub(super) reconnect_on_normal_close: bool,
    pub(super) attempt_timeout: Duration,
    pub(super) on_connect: Option<OnConnect<C::Transport>>,
    pub(super) on_event: Option<EventFn>,
    pub(super) events: Option<Arc<EventQueue>>,
    pub(super) rng: Option<JitterRng>,
}

impl<C: Connector> Builder<C> {
    /// A builder using `connector` to open connections (the adapters' `Connector`).
    pub fn with_connector(connector: C, request: impl IntoClientRequest) -> Self {
        Builder {
            connector,
            request: request.into_client_request().map_err(Error::from),
            config: ClientConfig::default(),
            backoff: Backoff::default(),
            capacity: DEFAULT_QUEUE_CAPACITY,
            policy: QueuePolicy::default(),
            reconnect_on_normal_close: false,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            on_connect: None,
            on_event: None,
            events: None,
            rng: None,
        }
    }

    /// Settings of each connection (limits, timeouts, TLS, deflate).
    pub fn config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// The retry delays and attempt budget.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The outgoing queue's capacity (at least 1; default [`DEFAULT_QUEUE_CAPACITY`]) and what
    /// sending does when it is full (default [`QueuePolicy::Wait`]).
    pub fn queue(mut self, capacity: usize, policy: QueuePolicy) -> Self {
        self.capacity = capacity;
        self.policy = policy;
        self
    }

    /// Also reconnect after the server closes with 1000 (normal) or 1001 (going away), or
    /// without a code. Default false: those closes end the client.
    pub fn reconnect_on_normal_close(mut self, reconnect: bool) -> Self {
        self.reconnect_on_normal_close = reconnect;
        self
    }

    /// Bounds each connection attempt: TCP connect (which the OS may let hang for minutes on
    /// an unreachable host), TLS, the opening handshake and `on_connect`. An attempt that runs
    /// out fails with an I/O error of kind `TimedOut` and is retried. Default
    /// [`DEFAULT_ATTEMPT_TIMEOUT`].
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// Runs on every new connection before any queued message is sent: re-authenticate,
    /// re-subscribe. An error fails the attempt (and is retried like a connect failure).
    pub fn on_connect<F>(mut self, f: F) -> Self
    where
        F: for<'a> Fn(&'a mut WebSocketStream<C::Transport>) -> BoxFuture<'a, Result<(), Error>>
            + Send
            + Sync
            + 'static,
    {
        self.on_connect = Some(Arc::new(f));
        self
    }

    /// Called with each [`Event`], on the task that caused it (keep it short; forward to a
    /// channel to handle elsewhere).
    pub fn on_event(mut self, f: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(f));
        self
    }

    /// Also delivers the events to the returned [`Events`] stream, which keeps at most
    /// `capacity` of them (dropping the oldest, counted, when the application falls behind).
    pub fn events(mut self, capacity: usize) -> (Self, Events) {
        let queue = Arc::new(EventQueue::new(capacity));
        self.events = Some(queue.clone());
        (self, Events { queue })
    }

    /// Seeds the jitter for reproducible delays (default: seeded from the OS).
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.rng = Some(JitterRng::seeded(seed));
        self
    }
}
