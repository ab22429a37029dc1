//! The reconnecting client through a broken path, on every runtime: the fault relay stalls the
//! connection (found dead by keepalive), then cuts it (RST), then cuts it and blackholes the
//! attempts that follow until the path heals. After each, the client reconnects with backoff
//! as configured and delivers every message queued while it was down exactly once, in order.
//!
//! Prints `figure:` lines (run with `--nocapture`): the time from each fault to the new
//! connection, for SECURITY.md's reliability table.

use futures::channel::mpsc;
use futures::future::{select, Either};
use futures::StreamExt;
use std::future::Future;
use std::pin::pin;
use std::time::{Duration, Instant};
use tests::fault::{FaultRelay, Faults};
use tests::restartable::{Seen, Server};
use tests::runtimes::Reconnecting;
use tests::within;
use ws_driver::reconnect::{Backoff, Event, ReconnectingClient};
use ws_driver::{ClientConfig, StreamConfig};

const MS: Duration = Duration::from_millis(1);
const KEEPALIVE: Duration = Duration::from_millis(500);
const PONG_DEADLINE: Duration = Duration::from_millis(500);
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(700);
const BACKOFF_MAX: Duration = Duration::from_millis(200);

type Client<R> = ReconnectingClient<<R as Reconnecting>::Conn>;

/// Runs `fut` while the client is driven by `recv` (messages received meanwhile are dropped).
async fn driving<R: Reconnecting, F: Future>(client: &mut Client<R>, fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let work = async {
        loop {
            match select(pin!(client.recv()), fut.as_mut()).await {
                Either::Right((out, _)) => return out,
                Either::Left((Some(Ok(_)), _)) => {}
                Either::Left((Some(Err(e)), _)) => panic!("{}: client failed: {e}", R::NAME),
                Either::Left((None, _)) => panic!("{}: the client ended", R::NAME),
            }
        }
    };
    within::<R, _>("driving the client", work).await
}

/// The events that matter here (the payloads show in the figures and failures).
#[allow(dead_code)]
#[derive(Debug)]
enum Ev {
    Connected(u32),
    Disconnected(String),
    Retrying { attempt: u32, delay: Duration },
}

async fn next_event<R: Reconnecting>(
    client: &mut Client<R>,
    events: &mut mpsc::UnboundedReceiver<(Instant, Ev)>,
    want: impl Fn(&Ev) -> bool,
) -> (Instant, Ev) {
    driving::<R, _>(client, async {
        loop {
            let event = events.next().await.expect("event channel open");
            if want(&event.1) {
                return event;
            }
        }
    })
    .await
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    Stall,
    Cut,
    Blackhole,
}

fn survives_stall_cut_and_blackhole<R: Reconnecting>() {
    let (log_tx, mut log) = mpsc::unbounded();
    let server = Server::start(0, log_tx);
    let relay = FaultRelay::start(
        ([127, 0, 0, 1], server.port).into(),
        Faults {
            latency: 5 * MS,
            jitter: 5 * MS,
            ..Faults::default()
        },
    );
    let (tx, mut events) = mpsc::unbounded();
    let stream = StreamConfig::default()
        .keepalive_interval(Some(KEEPALIVE))
        .keepalive_timeout(PONG_DEADLINE);
    let builder = Client::<R>::builder(format!("ws://{}/", relay.addr()).as_str())
        .config(ClientConfig::default().stream(stream))
        .attempt_timeout(ATTEMPT_TIMEOUT)
        .backoff(Backoff::default().initial(50 * MS).max(BACKOFF_MAX))
        .on_event(move |e| {
            let ev = match e {
                Event::Connected { attempts } => Ev::Connected(*attempts),
                Event::Disconnected { reason, .. } => Ev::Disconnected(format!("{reason:?}")),
                Event::Retrying { attempt, delay, .. } => Ev::Retrying {
                    attempt: *attempt,
                    delay: *delay,
                },
                _ => return,
            };
            let _ = tx.unbounded_send((Instant::now(), ev));
        });
    let mut sent = Vec::new();
    R::block_on(async {
        let mut client = within::<R, _>("connect", builder.connect())
            .await
            .expect("connect through the relay");
        client.send("before").await.expect("send");
        sent.push("before".to_string());
        let mut texts = Vec::new();
        for fault in [Fault::Stall, Fault::Cut, Fault::Blackhole] {
            // Everything sent so far arrived (nothing is in flight when the fault strikes).
            while texts.len() < sent.len() {
                let seen =
                    driving::<R, _>(&mut client, async { log.next().await.expect("log") }).await;
                if let Seen::Text(_, text) = seen {
                    texts.push(text);
                }
            }
            let start = Instant::now();
            match fault {
                Fault::Stall => relay.stall(),
                Fault::Cut => relay.cut(),
                Fault::Blackhole => {
                    relay.blackhole(true);
                    relay.cut();
                }
            }
            let (down_at, reason) = next_event::<R>(&mut client, &mut events, |e| {
                matches!(e, Ev::Disconnected(_))
            })
            .await;
            println!(
                "figure: {} {fault:?}: disconnection seen after {:?} ({reason:?})",
                R::NAME,
                down_at - start
            );
            // Queued while down: they must arrive once each, after the reconnection.
            for i in 0..3 {
                let message = format!("{fault:?} {i}");
                client.send(message.clone()).await.expect("queue");
                sent.push(message);
            }
            if let Fault::Blackhole = fault {
                // Two attempts time out in the blackhole, with backoff delays as configured.
                let mut retries = 0;
                while retries < 3 {
                    let (_, ev) = next_event::<R>(&mut client, &mut events, |e| {
                        matches!(e, Ev::Retrying { .. } | Ev::Connected(_))
                    })
                    .await;
                    match ev {
                        Ev::Retrying { attempt, delay } => {
                            assert!(delay <= BACKOFF_MAX, "{}: {delay:?}", R::NAME);
                            retries = attempt;
                        }
                        other => panic!("{}: connected through a blackhole: {other:?}", R::NAME),
                    }
                }
                relay.blackhole(false);
            }
            let (up_at, ev) =
                next_event::<R>(&mut client, &mut events, |e| matches!(e, Ev::Connected(_))).await;
            println!(
                "figure: {} {fault:?}: reconnected {:?} after the fault ({ev:?})",
                R::NAME,
                up_at - start
            );
            if let Fault::Stall = fault {
                // Keepalive finds the stalled path within interval + deadline (and a second).
                assert!(
                    down_at - start <= KEEPALIVE + PONG_DEADLINE + Duration::from_secs(1),
                    "{}: {:?}",
                    R::NAME,
                    down_at - start
                );
            }
        }
        // Everything sent arrives once, in order, whatever connection carried it.
        while texts.len() < sent.len() {
            let seen = driving::<R, _>(&mut client, async { log.next().await.expect("log") }).await;
            if let Seen::Text(_, text) = seen {
                texts.push(text);
            }
        }
        assert_eq!(texts, sent, "{}", R::NAME);
        within::<R, _>("close", client.close(None))
            .await
            .expect("close");
    });
    // Nothing more arrived (no duplicate after the last expected message).
    while let Ok(seen) = log.try_recv() {
        assert!(
            !matches!(seen, Seen::Text(..)),
            "{}: extra {seen:?}",
            R::NAME
        );
    }
    assert!(
        relay.accepted() >= 5,
        "{}: {} connections",
        R::NAME,
        relay.accepted()
    );
}

tests::for_each_runtime!(survives_stall_cut_and_blackhole);
