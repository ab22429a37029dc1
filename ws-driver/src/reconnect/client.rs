//! The reconnecting client: a state machine driven by the application's `recv`/`send` calls.

use super::backoff::{Backoff, JitterRng};

use super::builder::{Builder, OnConnect};
use super::policy::{is_retryable, should_reconnect, DisconnectReason, Event, ReconnectError};
use super::queue::{Sender, Shared};
use super::Connector;
use crate::config::ClientConfig;
use crate::error::Error;
use crate::stream::WebSocketStream;
use crate::transport::Sleep;
use futures_core::future::BoxFuture;
use futures_core::Stream;
use futures_sink::Sink;
use futures_util::future::{poll_fn, select, Either};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use ws_handshake::IntoClientRequest;
use ws_proto::{CloseFrame, Message, SendError};

impl<C: Connector> Builder<C> {
    /// Connects, retrying by the backoff policy, and returns once a connection is up and
    /// `on_connect` ran on it.
    pub async fn connect(self) -> Result<ReconnectingClient<C>, ReconnectError> {
        let request = self.request.map_err(ReconnectError::Fatal)?;
        let mut client = ReconnectingClient {
            connector: self.connector,
            request,
            config: self.config,
            backoff: self.backoff,
            reconnect_on_normal_close: self.reconnect_on_normal_close,
            attempt_timeout: self.attempt_timeout,
            on_connect: self.on_connect,
            shared: Arc::new(Shared::new(
                self.capacity,
                self.policy,
                self.on_event,
                self.events,
            )),
            rng: self.rng.unwrap_or_else(JitterRng::from_entropy),
            state: State::Done,
            attempts: 0,
            retries: 0,
            peer_close: None,
            closing: false,
            unsent: Vec::new(),
        };
        client.start_attempt();
        poll_fn(|cx| {
            if matches!(client.state, State::Connected(_)) {
                return Poll::Ready(Ok(()));
            }
            match ready!(client.poll_drive(cx, false)) {
                Step::Failed(e) => Poll::Ready(Err(e)),
                _ => Poll::Ready(Ok(())),
            }
        })
        .await?;
        Ok(client)
    }
}

// One per client, mostly `Connected`: boxing the stream would only add an indirection.
#[allow(clippy::large_enum_variant)]
enum State<T> {
    Connected(WebSocketStream<T>),
    Connecting(BoxFuture<'static, Result<WebSocketStream<T>, Error>>),
    Waiting(Sleep),
    Done,
}

/// What driving the state machine produced.
enum Step {
    Message(Message),
    Failed(ReconnectError),
    Ended,
    /// Without reading: everything queued was written out, or the connection just ended.
    Idle,
}

/// A WebSocket client that reconnects with backoff, re-runs `on_connect`, and queues outgoing
/// messages while disconnected. See the [module documentation](super) for the design.
pub struct ReconnectingClient<C: Connector> {
    connector: C,
    request: http::Request<()>,
    config: ClientConfig,
    backoff: Backoff,
    reconnect_on_normal_close: bool,
    attempt_timeout: Duration,
    on_connect: Option<OnConnect<C::Transport>>,
    shared: Arc<Shared>,
    rng: JitterRng,
    state: State<C::Transport>,
    /// Connection attempts in the current outage.
    attempts: u32,
    /// Backoff delays taken in the current outage.
    retries: u32,
    /// The close frame the server sent on the current connection.
    peer_close: Option<Option<CloseFrame>>,
    /// The application asked to close.
    closing: bool,
    /// Messages never handed to a connection, once the client ended.
    unsent: Vec<Message>,
}

impl<C: Connector + Default> ReconnectingClient<C> {
    /// A builder for a client of `request` (a `ws://`/`wss://` URL or an `http::Request`).
    pub fn builder(request: impl IntoClientRequest) -> Builder<C> {
        Builder::with_connector(C::default(), request)
    }
}

impl<C: Connector> ReconnectingClient<C> {
    /// Receives the next message across reconnections, driving the connection meanwhile:
    /// reconnecting, running `on_connect`, writing queued messages. Messages are those of
    /// [`WebSocketStream::recv`] (pings and pongs included) except the server's close frame,
    /// which is reported as [`Event::Disconnected`]. `None` once the client is
    /// closed (by [`close`](Self::close), or a server close that does not reconnect); an error
    /// when it gives up. Cancel-safe: dropping the future loses nothing.
    pub async fn recv(&mut self) -> Option<Result<Message, ReconnectError>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Queues a message by the queue's policy and, if connected, writes it out and flushes.
    /// `Ok` means queued or handed to the connection, not delivered: see the module
    /// documentation on messages in flight. A send cancelled while waiting for room (with
    /// [`QueuePolicy::Wait`](super::QueuePolicy::Wait)) did not queue its message.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), ReconnectError> {
        let mut slot = Some(message.into());
        poll_fn(|cx| loop {
            if slot.is_some() {
                if let Poll::Ready(result) = self.shared.poll_push(&mut slot, cx) {
                    result?;
                    continue;
                }
                // Full, and the policy waits: make room by driving the connection ourselves.
                match ready!(self.poll_drive(cx, false)) {
                    Step::Failed(e) => return Poll::Ready(Err(e)),
                    Step::Message(_) | Step::Ended | Step::Idle => continue,
                }
            }
            if !matches!(self.state, State::Connected(_)) {
                return Poll::Ready(Ok(()));
            }
            return match ready!(self.poll_drive(cx, false)) {
                Step::Failed(e) => Poll::Ready(Err(e)),
                _ => Poll::Ready(Ok(())),
            };
        })
        .await
    }

    /// A cloneable handle that queues messages from other tasks.
    pub fn sender(&self) -> Sender {
        Sender {
            shared: self.shared.clone(),
        }
    }

    /// Whether a connection is up.
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected(_))
    }

    /// Closes for good: writes the queued messages if connected, runs the closing handshake,
    /// and never reconnects. Messages that could not be sent stay in
    /// [`take_unsent`](Self::take_unsent).
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), ReconnectError> {
        self.closing = true;
        if self.is_connected() {
            // A peer that stopped reading must not hold the close up: the queued messages get
            // the close timeout to go out, like the closing handshake after them.
            let limit = self
                .connector
                .sleep(self.config.stream.protocol.close_timeout);
            let drain = poll_fn(|cx| self.poll_drive(cx, false).map(|_| ()));
            select(Box::pin(drain), limit).await;
        }
        let result = match std::mem::replace(&mut self.state, State::Done) {
            State::Connected(mut ws) => {
                let result = ws.close(frame).await.map_err(ReconnectError::Fatal);
                self.shared.emit(Event::Disconnected {
                    reason: DisconnectReason::Requested,
                    will_reconnect: false,
                });
                result
            }
            _ => Ok(()),
        };
        self.finish();
        result
    }

    /// The messages never handed to a connection, once the client has ended (closed, or gave
    /// up): the application decides whether to store or drop them.
    pub fn take_unsent(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.unsent)
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, ReconnectError>>> {
        loop {
            return Poll::Ready(match ready!(self.poll_drive(cx, true)) {
                Step::Message(m) => Some(Ok(m)),
                Step::Failed(e) => Some(Err(e)),
                Step::Ended => None,
                Step::Idle => continue,
            });
        }
    }

    fn start_attempt(&mut self) {
        self.attempts = self.attempts.saturating_add(1);
        let connect = self
            .connector
            .connect(self.request.clone(), self.config.clone());
        let on_connect = self.on_connect.clone();
        let attempt = Box::pin(async move {
            let (mut ws, _response) = connect.await?;
            if let Some(on_connect) = on_connect {
                on_connect(&mut ws).await?;
            }
            Ok(ws)
        });
        let timeout = self.connector.sleep(self.attempt_timeout);
        self.state = State::Connecting(Box::pin(async move {
            match select(attempt, timeout).await {
                Either::Left((result, _)) => result,
                Either::Right(((), _)) => Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connection attempt timed out",
                ))),
            }
        }));
    }

    fn schedule_retry(&mut self, error: Option<Error>) {
        let delay = self.backoff.delay(self.retries, &mut self.rng);
        self.retries = self.retries.saturating_add(1);
        self.shared.emit(Event::Retrying {
            attempt: self.attempts.saturating_add(1),
            delay,
            error,
        });
        self.state = State::Waiting(self.connector.sleep(delay));
    }

    /// An attempt failed: retry, or end with the error to report.
    fn attempt_failed(&mut self, error: Error) -> Option<ReconnectError> {
        let attempts = self.attempts;
        let error = if !is_retryable(&error) {
            ReconnectError::Fatal(error)
        } else if self.backoff.exhausted(attempts) {
            ReconnectError::GaveUp {
                attempts,
                last_error: error,
            }
        } else {
            self.schedule_retry(Some(error));
            return None;
        };
        self.shared.emit(Event::GaveUp { attempts });
        self.finish();
        Some(error)
    }

    fn disconnected(&mut self, reason: DisconnectReason) {
        let will_reconnect =
            !self.closing && should_reconnect(&reason, self.reconnect_on_normal_close);
        self.peer_close = None;
        self.state = State::Done;
        self.shared.emit(Event::Disconnected {
            reason,
            will_reconnect,
        });
        if will_reconnect {
            self.attempts = 0;
            self.retries = 0;
            self.schedule_retry(None);
        } else {
            self.finish();
        }
    }

    fn finish(&mut self) {
        self.state = State::Done;
        self.unsent.extend(self.shared.close());
    }

    fn poll_drive(&mut self, cx: &mut Context<'_>, read: bool) -> Poll<Step> {
        self.shared.register_driver(cx.waker());
        loop {
            match &mut self.state {
                State::Done => return Poll::Ready(Step::Ended),
                State::Waiting(sleep) => {
                    ready!(sleep.as_mut().poll(cx));
                    self.start_attempt();
                }
                State::Connecting(attempt) => match ready!(attempt.as_mut().poll(cx)) {
                    Ok(ws) => {
                        self.state = State::Connected(ws);
                        let attempts = std::mem::take(&mut self.attempts);
                        self.retries = 0;
                        self.shared.emit(Event::Connected { attempts });
                    }
                    Err(e) => {
                        if let Some(error) = self.attempt_failed(e) {
                            return Poll::Ready(Step::Failed(error));
                        }
                    }
                },
                State::Connected(ws) => {
                    match ready!(poll_connected(
                        ws,
                        &self.shared,
                        &mut self.peer_close,
                        cx,
                        read
                    )) {
                        Connected::Message(m) => return Poll::Ready(Step::Message(m)),
                        Connected::Flushed => return Poll::Ready(Step::Idle),
                        Connected::Refused(e) => {
                            return Poll::Ready(Step::Failed(ReconnectError::Fatal(e)))
                        }
                        Connected::Ended(reason) => {
                            self.disconnected(reason);
                            if !read {
                                return Poll::Ready(Step::Idle);
                            }
                        }
                    }
                }
            }
        }
    }
}

enum Connected {
    Message(Message),
    Flushed,
    /// The connection refused a queued message (a control frame too long, ...); it is dropped.
    Refused(Error),
    Ended(DisconnectReason),
}

/// Writes queued messages, then (if `read`) reads the next one.
fn poll_connected<T: crate::Transport>(
    ws: &mut WebSocketStream<T>,
    shared: &Shared,
    peer_close: &mut Option<Option<CloseFrame>>,
    cx: &mut Context<'_>,
    read: bool,
) -> Poll<Connected> {
    let ended = |e: Error, peer_close: &mut Option<Option<CloseFrame>>| {
        Poll::Ready(Connected::Ended(match peer_close.take() {
            Some(frame) => DisconnectReason::ServerClosed(frame),
            None => DisconnectReason::Failed(e),
        }))
    };
    loop {
        // After the server's close nothing more may be sent; queued messages wait for the
        // next connection.
        while peer_close.is_none() && !shared.is_empty() {
            match Pin::new(&mut *ws).poll_ready(cx) {
                Poll::Pending => break,
                Poll::Ready(Err(e)) => return ended(e, peer_close),
                Poll::Ready(Ok(())) => {}
            }
            let Some(message) = shared.pop() else { break };
            match Pin::new(&mut *ws).start_send(message) {
                Ok(()) => {}
                Err(e @ (Error::Send(SendError::Closed) | Error::ConnectionClosed)) => {
                    return ended(e, peer_close)
                }
                Err(e) => return Poll::Ready(Connected::Refused(e)),
            }
        }
        let flushed = match Pin::new(&mut *ws).poll_flush(cx) {
            Poll::Ready(Err(e)) => return ended(e, peer_close),
            Poll::Ready(Ok(())) => true,
            Poll::Pending => false,
        };
        if !read {
            if flushed && (peer_close.is_some() || shared.is_empty()) {
                return Poll::Ready(Connected::Flushed);
            }
            if flushed {
                continue; // another sender queued meanwhile
            }
            return Poll::Pending;
        }
        match ready!(Pin::new(&mut *ws).poll_next(cx)) {
            Some(Ok(Message::Close(frame))) => *peer_close = Some(frame),
            Some(Ok(message)) => return Poll::Ready(Connected::Message(message)),
            Some(Err(e)) => return ended(e, peer_close),
            None => return ended(Error::ConnectionClosed, peer_close),
        }
    }
}

impl<C: Connector> Drop for ReconnectingClient<C> {
    fn drop(&mut self) {
        // Senders of a dropped client get `Closed` instead of queueing into nothing (or
        // waiting forever for room).
        self.shared.close();
    }
}

impl<C: Connector + Unpin> Stream for ReconnectingClient<C> {
    type Item = Result<Message, ReconnectError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<C: Connector> std::fmt::Debug for ReconnectingClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReconnectingClient")
            .field("uri", self.request.uri())
            .field("connected", &self.is_connected())
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}
