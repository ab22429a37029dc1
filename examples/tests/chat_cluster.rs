//! The chat example as two nodes sharing one room through a private `redis-server`: clients on
//! both nodes, every message from each arrives at every client exactly once and in its sender's
//! order; join and leave notices cross nodes; a page's welcome lists its own node's members.
//! Needs `/usr/bin/redis-server` (`scripts/deps.sh` installs it).

mod support;

use examples::chat::room::{Room, RoomConfig};
use examples::chat::{serve_room, ChatConfig};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use support::{event, expect_close, next_event, slow_member, STEP};
use tests::redis_server::RedisServer;
use tokio::net::TcpListener;
use ws_tokio::Message;

/// Messages each client sends.
const N: usize = 25;

type Client = ws_tokio::ClientStream;
type Reader = ws_driver::WebSocketReader<ws_tokio::ClientTransport>;

/// A chat node on `redis`: serving on 127.0.0.1:0, subscribed to the room in Redis.
async fn node(redis: &str) -> (SocketAddr, Arc<Room>) {
    // No rate limit: the clients send as fast as they can.
    node_with(ChatConfig::default().redis(redis).rate_limit(0, 1)).await
}

async fn node_with(config: ChatConfig) -> (SocketAddr, Arc<Room>) {
    let room = Room::start(&config.room_config()).expect("valid Redis URL");
    tokio::time::timeout(STEP, room.ready())
        .await
        .expect("the node subscribed to the room in Redis in time");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_room(listener, config, room.clone()));
    (addr, room)
}

async fn read_event(reader: &mut Reader) -> Value {
    event(tokio::time::timeout(STEP, reader.recv()).await)
}

/// Connects `name` to `addr`; returns the client and its welcome's user list, after its own
/// join notice.
async fn join(addr: SocketAddr, name: &str) -> (Client, Value) {
    let (mut ws, response) = ws_tokio::connect(format!("ws://{addr}/ws?name={name}"))
        .await
        .unwrap();
    // Compressed once for every member: each message on its own.
    let extensions = response.headers().get("sec-websocket-extensions").unwrap();
    assert!(
        extensions
            .to_str()
            .unwrap()
            .contains("server_no_context_takeover"),
        "{extensions:?}"
    );
    let welcome = next_event(&mut ws).await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["name"], name);
    assert_eq!(
        next_event(&mut ws).await,
        json!({"type": "join", "name": name})
    );
    (ws, welcome["users"].clone())
}

/// What one client saw until every sender's `end`: the messages by sender, the names in join
/// notices (with repeats).
#[derive(Default, Debug)]
struct Seen {
    messages: BTreeMap<String, Vec<String>>,
    joins: Vec<String>,
}

async fn collect(ws: &mut Reader, senders: &BTreeSet<String>) -> Seen {
    let mut seen = Seen::default();
    let mut ended = BTreeSet::new();
    while &ended != senders {
        let event = read_event(ws).await;
        match event["type"].as_str() {
            Some("message") => {
                let from = event["from"].as_str().unwrap().to_string();
                let text = event["text"].as_str().unwrap().to_string();
                assert!(!ended.contains(&from), "{event} after {from}'s end");
                if text == "end" {
                    ended.insert(from);
                } else {
                    seen.messages.entry(from).or_default().push(text);
                }
            }
            Some("join") => seen.joins.push(event["name"].as_str().unwrap().into()),
            _ => panic!("unexpected {event}"),
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_on_two_nodes_get_every_message_once_in_order() {
    let redis = tokio::task::spawn_blocking(RedisServer::start)
        .await
        .unwrap();
    let url = redis.url();
    let (a, room_a) = node(&url).await;
    let (b, room_b) = node(&url).await;

    // Joined one at a time; alternating nodes.
    let plan = [("alice", a), ("carol", b), ("bob", a), ("dave", b)];
    let mut clients = Vec::new();
    for (name, addr) in plan {
        let (ws, users) = join(addr, name).await;
        clients.push((name, ws, users));
    }
    assert_eq!((room_a.len(), room_b.len()), (2, 2));

    // Everyone sends N messages and an end marker at once, and reads until every end.
    let senders: BTreeSet<String> = plan.iter().map(|(n, _)| n.to_string()).collect();
    let mut tasks = Vec::new();
    for (name, ws, users) in clients {
        let senders = senders.clone();
        tasks.push(tokio::spawn(async move {
            let users: Vec<String> = serde_json::from_value(users).unwrap();
            let (mut sink, mut reader) = ws.split();
            // Reading alongside sending: a client that only sent would fill its own queue.
            let sending = async {
                for i in 0..N {
                    sink.send(Message::text(format!("{i}"))).await.unwrap();
                }
                sink.send(Message::text("end")).await.unwrap();
            };
            let (seen, ()) = tokio::join!(collect(&mut reader, &senders), sending);
            (name, sink, reader, seen, users)
        }));
    }
    let expected: Vec<String> = (0..N).map(|i| i.to_string()).collect();
    let mut connected = Vec::new();
    for (at, task) in tasks.into_iter().enumerate() {
        let (name, sink, reader, seen, users) = tokio::time::timeout(STEP * 3, task)
            .await
            .expect("every client got every end marker in time")
            .unwrap();
        // Exactly once, in each sender's order, from both nodes.
        assert_eq!(seen.messages.len(), senders.len(), "{name}: {seen:?}");
        for (from, texts) in &seen.messages {
            assert_eq!(texts, &expected, "{name} from {from}");
        }
        // Those who joined later were announced to it, once each, whichever their node; an
        // earlier member on the other node may be announced too (its notice crossing Redis
        // after this client joined), but never twice.
        let joins: BTreeSet<&String> = seen.joins.iter().collect();
        assert_eq!(joins.len(), seen.joins.len(), "{name}: {:?}", seen.joins);
        for (later, _) in &plan[at + 1..] {
            assert!(
                joins.contains(&later.to_string()),
                "{name}: {:?}",
                seen.joins
            );
        }
        // What a page shows: its welcome's list (every node's members, as far as its node
        // knew) plus the join notices. Both nodes' members, each once.
        let mut shown: Vec<String> = users.clone();
        for joined in &seen.joins {
            if !shown.contains(joined) {
                shown.push(joined.clone());
            }
        }
        shown.sort();
        assert_eq!(
            shown,
            ["alice", "bob", "carol", "dave"],
            "{name}: {users:?} {seen:?}"
        );
        assert!(users.contains(&name.to_string()), "{name}: {users:?}");
        connected.push((name, sink, reader));
    }

    // bob (node A) leaves: every other client, on both nodes, gets the notice.
    let (_, mut bob_sink, _bob_reader) = connected.remove(2);
    bob_sink.close(None).await.unwrap();
    for (name, _, reader) in &mut connected {
        let notice = read_event(reader).await;
        assert_eq!(notice, json!({"type": "leave", "name": "bob"}), "{name}");
    }
    assert_eq!((room_a.len(), room_b.len()), (1, 2));
    eprintln!(
        "node A: {:?}; node B: {:?}",
        room_a.redis().map(|r| r.stats()),
        room_b.redis().map(|r| r.stats())
    );
    drop(redis);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_overrun_by_another_nodes_traffic_is_dropped_everywhere() {
    let redis = tokio::task::spawn_blocking(RedisServer::start)
        .await
        .unwrap();
    let url = redis.url();
    let mut small = ChatConfig::default()
        .redis(url.as_str())
        .queue_len(16)
        .rate_limit(0, 1);
    // Long enough that the close frame gets through once the test reads the slow member.
    small.close_timeout = STEP;
    let (a, _room_a) = node_with(small).await;
    let (b, _room_b) = node(&url).await;
    let no_deflate = || ws_tokio::ClientConfig::default().deflate(None);

    // On node A, a member that never reads.
    let mut slow = slow_member(a).await;
    // On node B, a sender in lock step (each message read back before the next), so it keeps
    // up itself, until the notice that `slow` is gone arrives from node A.
    let (mut fast, _) = ws_tokio::connect_with(format!("ws://{b}/ws?name=fast"), no_deflate())
        .await
        .unwrap();
    assert_eq!(next_event(&mut fast).await["type"], "welcome");
    assert_eq!(next_event(&mut fast).await["type"], "join");
    let filler = "x".repeat(2000);
    let mut sent = 0;
    let dropped = loop {
        assert!(sent < 20_000, "the slow member was never dropped");
        let text = format!("{sent} {filler}");
        fast.send(Message::text(text.clone())).await.unwrap();
        sent += 1;
        // Its own message back, or first the notice that `slow` is gone (or slow's join,
        // which may cross Redis after `fast` joined).
        let event = loop {
            let event = next_event(&mut fast).await;
            if event != json!({"type": "join", "name": "slow"}) {
                break event;
            }
        };
        match event["type"].as_str() {
            Some("message") if event["text"] == text.as_str() => {}
            Some("leave") => break event,
            _ => panic!("unexpected {event}"),
        }
    };
    assert_eq!(
        dropped,
        json!({"type": "leave", "name": "slow", "reason": "too slow"})
    );
    eprintln!("slow member on node A dropped after {sent} messages of 2 kB from node B");
    // It finds, after what was already written to it, close 1008.
    expect_close(
        &mut slow,
        ws_tokio::CloseCode::POLICY_VIOLATION,
        "too slow: outgoing queue full",
    )
    .await;
    drop(redis);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_node_lists_every_member_and_a_dead_node_is_forgotten() {
    let redis = tokio::task::spawn_blocking(RedisServer::start)
        .await
        .unwrap();
    let url = redis.url();
    // Node A checks often for silent nodes; the ghost's node beats fast, so it is forgotten
    // 3 x 200 ms after its last word.
    let mut quick = ChatConfig::default().redis(url.as_str());
    quick.presence_interval = Duration::from_millis(200);
    let (a, room_a) = node_with(quick).await;
    let (mut alice, _) = join(a, "alice").await;

    // A node on its own runtime, holding one member: shutting the runtime down kills it
    // without a word (no leave notice), like a crashed process.
    let ghost_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let ghost_url = url.clone();
    let ghost = tokio::task::spawn_blocking(move || {
        let ghost = ghost_runtime.block_on(async move {
            let mut config = RoomConfig::default();
            config.redis = Some(ghost_url);
            config.presence_interval = Duration::from_millis(200);
            let room = Room::start(&config).unwrap();
            tokio::time::timeout(STEP, room.ready()).await.unwrap();
            room.join("ghost".into()).unwrap()
        });
        (ghost_runtime, ghost)
    })
    .await
    .unwrap();
    assert_eq!(
        next_event(&mut alice).await,
        json!({"type": "join", "name": "ghost"})
    );

    // A node started now asks the others for their members on connecting.
    let (c, room_c) = node(&url).await;
    tokio::time::timeout(STEP, room_c.wait_users(|users| users == ["alice", "ghost"]))
        .await
        .expect("the new node learnt the other nodes' members");
    let (_carol, users) = join(c, "carol").await;
    assert_eq!(users, json!(["alice", "carol", "ghost"]));

    let (ghost_runtime, ghost_member) = ghost;
    ghost_runtime.shutdown_background();
    tokio::time::timeout(STEP, room_a.wait_users(|users| users == ["alice", "carol"]))
        .await
        .expect("node A forgot the dead node's member");
    // Its leave, once its runtime is gone, goes nowhere.
    drop(ghost_member);
    drop(redis);
}
