//! The reconnecting client, on every runtime: restarts of the server on the same port, the
//! close policy, backoff delays measured on the clock, giving up, and the queue policies.
//!
//! The server side is a tokio server on its own thread and runtime that can be stopped (its
//! listener and every connection dropped) and started again on the same port; the client runs
//! on the runtime under test.

use futures::channel::{mpsc, oneshot};
use futures::future::{select, Either};
use futures::StreamExt;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tests::restartable::{Seen, Server};
use tests::runtimes::Reconnecting as Rt;
use tests::within;
use ws_driver::reconnect::{
    Backoff, DisconnectReason, Event, Jitter, JitterRng, QueuePolicy, ReconnectError,
    ReconnectingClient,
};
use ws_driver::{Error, Message};

type Client<R> = ReconnectingClient<<R as Rt>::Conn>;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The events, reduced to what the cases check, with when they happened.
#[derive(Debug)]
enum Ev {
    Connected(u32),
    Disconnected {
        reason: String,
        will_reconnect: bool,
    },
    Retrying {
        attempt: u32,
        delay: Duration,
        at: Instant,
    },
    GaveUp(u32),
    Dropped(Message),
}

fn reduce(event: &Event) -> Ev {
    match event {
        Event::Connected { attempts } => Ev::Connected(*attempts),
        Event::Disconnected {
            reason,
            will_reconnect,
        } => Ev::Disconnected {
            reason: match reason {
                DisconnectReason::ServerClosed(Some(f)) => format!("server {}", f.code.0),
                other => format!("{other:?}"),
            },
            will_reconnect: *will_reconnect,
        },
        Event::Retrying { attempt, delay, .. } => Ev::Retrying {
            attempt: *attempt,
            delay: *delay,
            at: Instant::now(),
        },
        Event::GaveUp { attempts } => Ev::GaveUp(*attempts),
        Event::Dropped(m) => Ev::Dropped(m.clone()),
        other => panic!("unexpected event {other:?}"),
    }
}

/// A client builder for `port` with fast retries and its events on a channel.
fn builder<R: Rt>(
    port: u16,
) -> (
    ws_driver::reconnect::Builder<R::Conn>,
    mpsc::UnboundedReceiver<Ev>,
) {
    let (tx, rx) = mpsc::unbounded();
    let builder = Client::<R>::builder(format!("ws://127.0.0.1:{port}/").as_str())
        .backoff(Backoff::default().initial(ms(20)).max(ms(100)))
        .on_event(move |e| {
            let _ = tx.unbounded_send(reduce(e));
        });
    (builder, rx)
}

/// Runs `fut` while the client is driven by `recv` (messages received meanwhile are dropped).
async fn driving<R: Rt, F: Future>(client: &mut Client<R>, fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let work = async {
        loop {
            match select(pin!(client.recv()), fut.as_mut()).await {
                Either::Right((out, _)) => return out,
                Either::Left((Some(Ok(_)), _)) => {}
                Either::Left((Some(Err(e)), _)) => panic!("{}: client failed: {e}", R::NAME),
                Either::Left((None, _)) => return fut.await,
            }
        }
    };
    within::<R, _>("driving the client", work).await
}

async fn next_event(events: &mut mpsc::UnboundedReceiver<Ev>, want: impl Fn(&Ev) -> bool) -> Ev {
    loop {
        let event = events.next().await.expect("event channel open");
        if want(&event) {
            return event;
        }
    }
}

async fn next_seen<R: Rt>(log: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    within::<R, _>("server log", log.next())
        .await
        .expect("server log open")
}

fn text(n: usize, t: &str) -> Seen {
    Seen::Text(n, t.to_string())
}

fn restart_mid_stream<R: Rt>() {
    let (log_tx, mut log) = mpsc::unbounded();
    let server = Server::start(0, log_tx.clone());
    let port = server.port;
    let on_connects = Arc::new(AtomicUsize::new(0));
    let counter = on_connects.clone();
    R::block_on(async move {
        let (builder, mut events) = builder::<R>(port);
        let mut client = within::<R, _>(
            "connect",
            builder
                .on_connect(move |ws| {
                    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    Box::pin(async move { ws.send(Message::text(format!("hello {n}"))).await })
                })
                .connect(),
        )
        .await
        .expect("connect");
        client.send("a1").await.expect("send");
        client.send("echo:x").await.expect("send");
        let item = within::<R, _>("echo", client.recv()).await;
        assert!(
            matches!(item, Some(Ok(ref m)) if *m == Message::text("x")),
            "{item:?}"
        );
        for want in [
            Seen::Accepted(1),
            text(1, "hello 1"),
            text(1, "a1"),
            text(1, "echo:x"),
        ] {
            assert_eq!(next_seen::<R>(&mut log).await, want, "{}", R::NAME);
        }

        server.stop();
        let down = driving::<R, _>(
            &mut client,
            next_event(&mut events, |e| matches!(e, Ev::Disconnected { .. })),
        );
        match down.await {
            Ev::Disconnected { will_reconnect, .. } => assert!(will_reconnect, "{}", R::NAME),
            other => panic!("{other:?}"),
        }
        // Sent while disconnected: queued, in order, behind on_connect's message.
        for i in 0..3 {
            client.send(format!("q{i}")).await.expect("queue");
        }
        assert!(!client.is_connected());
        let _server = Server::start(port, log_tx);
        let want = [
            Seen::Accepted(1),
            text(1, "hello 2"),
            text(1, "q0"),
            text(1, "q1"),
            text(1, "q2"),
        ];
        for want in want {
            let seen = driving::<R, _>(&mut client, async { log.next().await.expect("log") }).await;
            assert_eq!(seen, want, "{}", R::NAME);
        }
        assert_eq!(on_connects.load(Ordering::SeqCst), 2, "{}", R::NAME);
        // Messages keep flowing both ways on the new connection.
        client.send("echo:y").await.expect("send");
        let item = within::<R, _>("echo", client.recv()).await;
        assert!(
            matches!(item, Some(Ok(ref m)) if *m == Message::text("y")),
            "{item:?}"
        );
        within::<R, _>("close", client.close(None))
            .await
            .expect("close");
        assert!(client.recv().await.is_none());
    });
}

/// (what the server is asked to do, reconnect_on_normal_close, whether the client reconnects)
const CLOSE_CASES: [(&str, bool, bool); 6] = [
    ("close:1000", false, false),
    ("close:1001", false, false),
    ("close:1000", true, true),
    ("close:1011", false, true),
    ("close:4000", false, true),
    ("reset", false, true),
];

fn close_policy<R: Rt>() {
    let (log_tx, _log) = mpsc::unbounded();
    let server = Server::start(0, log_tx);
    for (command, on_normal, reconnects) in CLOSE_CASES {
        R::block_on(async {
            let (builder, mut events) = builder::<R>(server.port);
            let connect = builder.reconnect_on_normal_close(on_normal).connect();
            let mut client = within::<R, _>("connect", connect).await.expect("connect");
            client.send(command).await.expect("send");
            let case = format!("{}: {command} (reconnect on normal: {on_normal})", R::NAME);
            let down = driving::<R, _>(
                &mut client,
                next_event(&mut events, |e| matches!(e, Ev::Disconnected { .. })),
            );
            let Ev::Disconnected {
                will_reconnect,
                reason,
            } = down.await
            else {
                unreachable!()
            };
            assert_eq!(will_reconnect, reconnects, "{case}: {reason}");
            if let Some(code) = command.strip_prefix("close:") {
                assert_eq!(reason, format!("server {code}"), "{case}");
            }
            if reconnects {
                let up = driving::<R, _>(
                    &mut client,
                    next_event(&mut events, |e| matches!(e, Ev::Connected(_))),
                );
                assert!(matches!(up.await, Ev::Connected(1)), "{case}");
                assert!(client.is_connected(), "{case}");
            } else {
                // Ended: recv reports the end and nothing is attempted any more.
                assert!(
                    within::<R, _>("end", client.recv()).await.is_none(),
                    "{case}"
                );
                assert!(!client.is_connected(), "{case}");
                assert!(
                    events.try_recv().ok().is_none(),
                    "{case}: events after the end"
                );
            }
            // A close the application asks for never reconnects.
            within::<R, _>("close", client.close(None))
                .await
                .expect("close");
            assert!(
                within::<R, _>("end", client.recv()).await.is_none(),
                "{case}"
            );
            assert!(
                matches!(client.send("late").await, Err(ReconnectError::Closed(_))),
                "{case}"
            );
        });
    }
}

/// A port nothing listens on, so connections are refused at once: a socket bound to it and
/// never listening keeps it from being handed to another test's server while it lives.
fn refused_port() -> (socket2::Socket, u16) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let any = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    socket.bind(&any.into()).expect("bind 127.0.0.1:0");
    let addr = socket
        .local_addr()
        .expect("addr")
        .as_socket()
        .expect("inet address");
    (socket, addr.port())
}

fn backoff_delays_and_giving_up<R: Rt>() {
    const ATTEMPTS: u32 = 6;
    const SEED: u64 = 0x5eed;
    for jitter in [Jitter::None, Jitter::Full] {
        let backoff = Backoff::default()
            .initial(ms(10))
            .factor(2.0)
            .max(ms(60))
            .max_attempts(Some(ATTEMPTS))
            .jitter(jitter);
        let (_reserved, port) = refused_port();
        let (builder, mut events) = builder::<R>(port);
        let started = Instant::now();
        let result = R::block_on(within::<R, _>(
            "giving up",
            builder.backoff(backoff.clone()).jitter_seed(SEED).connect(),
        ));
        let case = format!("{}: {jitter:?}", R::NAME);
        match result {
            Err(ReconnectError::GaveUp {
                attempts,
                last_error: Error::Connect { source: e, .. },
            }) => {
                assert_eq!(attempts, ATTEMPTS, "{case}");
                assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{case}");
            }
            other => panic!("{case}: {other:?}"),
        }
        let events: Vec<Ev> = std::iter::from_fn(|| events.try_recv().ok()).collect();
        let Some((Ev::GaveUp(ATTEMPTS), retries)) = events.split_last() else {
            panic!("{case}: {events:?}");
        };
        assert_eq!(retries.len(), ATTEMPTS as usize - 1, "{case}: {events:?}");
        let mut rng = JitterRng::seeded(SEED);
        let mut previous = started;
        let mut gaps = Vec::new();
        for (n, event) in retries.iter().enumerate() {
            let Ev::Retrying { attempt, delay, at } = event else {
                panic!("{case}: {event:?}")
            };
            assert_eq!(*attempt as usize, n + 2, "{case}");
            // The delay is the policy's (same seed, same draws) and within the full-jitter cap.
            assert_eq!(
                *delay,
                backoff.delay(n as u32, &mut rng),
                "{case}: retry {n}"
            );
            assert!(*delay <= backoff.cap(n as u32), "{case}: retry {n}");
            if n > 0 {
                // Measured: the retry came no sooner than the previous delay, and not much later.
                let gap = at.duration_since(previous);
                let Ev::Retrying { delay: waited, .. } = &retries[n - 1] else {
                    unreachable!()
                };
                assert!(
                    gap + ms(1) >= *waited,
                    "{case}: retry {n} after {gap:?} < {waited:?}"
                );
                assert!(gap < *waited + ms(1000), "{case}: retry {n} after {gap:?}");
                gaps.push(gap);
            }
            previous = *at;
        }
        let delays: Vec<Duration> = retries
            .iter()
            .map(|e| match e {
                Ev::Retrying { delay, .. } => *delay,
                _ => unreachable!(),
            })
            .collect();
        match jitter {
            Jitter::None => {
                assert_eq!(delays, [ms(10), ms(20), ms(40), ms(60), ms(60)], "{case}");
                // The measured gaps are at least the growing delays (checked above); comparing
                // gaps with each other would measure the scheduler's noise on a busy machine.
                let waited: Duration = delays[..gaps.len()].iter().sum();
                assert!(gaps.iter().sum::<Duration>() >= waited, "{case}: {gaps:?}");
            }
            _ => assert!(
                delays
                    .iter()
                    .enumerate()
                    .any(|(n, d)| *d != backoff.cap(n as u32)),
                "{case}: not jittered: {delays:?}"
            ),
        }
    }
}

fn queue_policies<R: Rt>() {
    for policy in [
        QueuePolicy::Error,
        QueuePolicy::DropOldest,
        QueuePolicy::Wait,
    ] {
        let (log_tx, mut log) = mpsc::unbounded();
        let server = Server::start(0, log_tx.clone());
        let port = server.port;
        R::block_on(async {
            let case = format!("{}: {policy:?}", R::NAME);
            let (builder, mut events) = builder::<R>(port);
            let connect = builder.queue(2, policy).connect();
            let mut client = within::<R, _>("connect", connect).await.expect("connect");
            assert_eq!(next_seen::<R>(&mut log).await, Seen::Accepted(1), "{case}");
            server.stop();
            let down = driving::<R, _>(
                &mut client,
                next_event(&mut events, |e| matches!(e, Ev::Disconnected { .. })),
            );
            down.await;
            client.send("m0").await.expect("queue");
            client.send("m1").await.expect("queue");
            let mut sender = Some(client.sender());
            let expected = match policy {
                QueuePolicy::Error => {
                    match client.send("m2").await {
                        Err(ReconnectError::QueueFull(m)) => assert_eq!(m, Message::text("m2")),
                        other => panic!("{case}: {other:?}"),
                    }
                    ["m0", "m1"]
                }
                QueuePolicy::DropOldest => {
                    client.send("m2").await.expect("queue");
                    let dropped = next_event(&mut events, |e| matches!(e, Ev::Dropped(_))).await;
                    assert!(
                        matches!(dropped, Ev::Dropped(ref m) if *m == Message::text("m0")),
                        "{case}"
                    );
                    ["m1", "m2"]
                }
                _ => {
                    // A sender on another task waits for room; it gets it once reconnected.
                    let sender = sender.take().expect("sender");
                    let (done_tx, done) = oneshot::channel();
                    R::spawn(async move {
                        let _ = done_tx.send(sender.send("m2").await.is_ok());
                    });
                    let _server = Server::start(port, log_tx.clone());
                    assert!(
                        driving::<R, _>(&mut client, done).await.unwrap_or(false),
                        "{case}"
                    );
                    for want in [
                        Seen::Accepted(1),
                        text(1, "m0"),
                        text(1, "m1"),
                        text(1, "m2"),
                    ] {
                        let seen =
                            driving::<R, _>(&mut client, async { log.next().await.expect("log") })
                                .await;
                        assert_eq!(seen, want, "{case}");
                    }
                    return;
                }
            };
            let _server = Server::start(port, log_tx.clone());
            assert_eq!(
                driving::<R, _>(&mut client, async { log.next().await.expect("log") }).await,
                Seen::Accepted(1)
            );
            for want in expected {
                let seen =
                    driving::<R, _>(&mut client, async { log.next().await.expect("log") }).await;
                assert_eq!(seen, text(1, want), "{case}");
            }
        });
    }
}

fn giving_up_keeps_unsent_messages<R: Rt>() {
    let (log_tx, _log) = mpsc::unbounded();
    let server = Server::start(0, log_tx);
    R::block_on(async {
        let (builder, _) = builder::<R>(server.port);
        let backoff = Backoff::default()
            .initial(ms(5))
            .max(ms(20))
            .max_attempts(Some(3));
        // This time the events come from the client's own bounded stream.
        let (builder, mut events) = builder.backoff(backoff).events(64);
        let mut client = within::<R, _>("connect", builder.connect())
            .await
            .expect("connect");
        assert!(matches!(
            events.recv().await,
            Some(Event::Connected { attempts: 1 })
        ));
        server.stop();
        let down = driving::<R, _>(&mut client, events.recv());
        match down.await {
            Some(Event::Disconnected {
                reason: DisconnectReason::Failed(_),
                will_reconnect: true,
            }) => {}
            other => panic!("{}: {other:?}", R::NAME),
        }
        client.send("kept").await.expect("queue");
        match within::<R, _>("give up", client.recv()).await {
            Some(Err(ReconnectError::GaveUp {
                attempts: 3,
                last_error: Error::Connect { .. },
            })) => {}
            other => panic!("{}: {other:?}", R::NAME),
        }
        assert!(client.recv().await.is_none());
        assert_eq!(client.take_unsent(), [Message::text("kept")], "{}", R::NAME);
        // Three delays (one after the disconnection, two after failed attempts), the end, and
        // then the stream ends with the client.
        let mut rest = Vec::new();
        while let Some(event) = within::<R, _>("events", events.recv()).await {
            rest.push(reduce(&event));
        }
        let attempts: Vec<u32> = rest
            .iter()
            .filter_map(|e| match e {
                Ev::Retrying { attempt, .. } => Some(*attempt),
                _ => None,
            })
            .collect();
        assert_eq!(attempts, [1, 2, 3], "{}: {rest:?}", R::NAME);
        assert!(
            matches!(rest.last(), Some(Ev::GaveUp(3))),
            "{}: {rest:?}",
            R::NAME
        );
        assert_eq!(events.missed(), 0);
    });
}

fn attempt_timeout_bounds_on_connect<R: Rt>() {
    let (log_tx, _log) = mpsc::unbounded();
    let server = Server::start(0, log_tx);
    R::block_on(async {
        let (builder, _events) = builder::<R>(server.port);
        let backoff = Backoff::default().initial(ms(5)).max_attempts(Some(2));
        let connect = builder
            .backoff(backoff)
            .attempt_timeout(ms(50))
            // A server that never answers the re-subscription: the attempt must not hang.
            .on_connect(|_ws| Box::pin(futures::future::pending()))
            .connect();
        match within::<R, _>("give up", connect).await {
            Err(ReconnectError::GaveUp {
                attempts: 2,
                last_error: Error::Io(e),
            }) => assert_eq!(e.kind(), std::io::ErrorKind::TimedOut, "{}", R::NAME),
            other => panic!("{}: {other:?}", R::NAME),
        }
    });
}

fn dropped_client_closes_its_senders<R: Rt>() {
    let (log_tx, _log) = mpsc::unbounded();
    let server = Server::start(0, log_tx);
    R::block_on(async {
        let (builder, _events) = builder::<R>(server.port);
        let client = within::<R, _>("connect", builder.connect())
            .await
            .expect("connect");
        let sender = client.sender();
        drop(client);
        let sent = sender.send("into nothing").await;
        assert!(
            matches!(sent, Err(ReconnectError::Closed(_))),
            "{}: {sent:?}",
            R::NAME
        );
    });
}

fn waiting_send_drives_the_reconnection<R: Rt>() {
    let (log_tx, mut log) = mpsc::unbounded();
    let server = Server::start(0, log_tx.clone());
    let port = server.port;
    R::block_on(async {
        let (builder, mut events) = builder::<R>(port);
        let connect = builder.queue(1, QueuePolicy::Wait).connect();
        let mut client = within::<R, _>("connect", connect).await.expect("connect");
        assert_eq!(next_seen::<R>(&mut log).await, Seen::Accepted(1));
        server.stop();
        let down = next_event(&mut events, |e| matches!(e, Ev::Disconnected { .. }));
        driving::<R, _>(&mut client, down).await;
        client.send("m0").await.expect("queue");
        let _server = Server::start(port, log_tx);
        // The queue is full and nobody calls recv: send itself reconnects and makes room.
        within::<R, _>("send", client.send("m1"))
            .await
            .expect("send");
        assert!(client.is_connected(), "{}", R::NAME);
        for want in [Seen::Accepted(1), text(1, "m0"), text(1, "m1")] {
            assert_eq!(next_seen::<R>(&mut log).await, want, "{}", R::NAME);
        }
    });
}

tests::for_each_runtime!(
    restart_mid_stream,
    close_policy,
    backoff_delays_and_giving_up,
    queue_policies,
    giving_up_keeps_unsent_messages,
    attempt_timeout_bounds_on_connect,
    dropped_client_closes_its_senders,
    waiting_send_drives_the_reconnection,
);
