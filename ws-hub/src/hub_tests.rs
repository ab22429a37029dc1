//! The hub without a network.
use super::*;
use crate::backplane::Backplane;
use crate::queue::Next;
use crate::HubError;

fn payload(next: Option<Next>) -> String {
    match next {
        Some(Next::Message(m)) => String::from_utf8_lossy(m.payload()).into_owned(),
        other => panic!("expected a message, got {other:?}"),
    }
}

#[test]
fn one_publish_reaches_every_subscriber_with_the_same_bytes() {
    let hub = Hub::new(HubConfig::default());
    let subs: Vec<_> = (0..100).map(|_| hub.subscriber()).collect();
    for s in &subs {
        assert!(s.subscribe("t").unwrap());
        assert!(!s.subscribe("t").unwrap());
    }
    let other = hub.subscriber();
    other.subscribe("elsewhere").unwrap();
    assert_eq!(hub.publish("t", "hi"), 100);
    let mut first_ptr = None;
    for s in &subs {
        match s.try_next() {
            Some(Next::Message(m)) => {
                let ptr = m.payload().as_ptr();
                assert_eq!(*first_ptr.get_or_insert(ptr), ptr, "shared, not copied");
            }
            other => panic!("{other:?}"),
        }
        assert!(s.try_next().is_none());
    }
    assert!(other.try_next().is_none());
    let stats = hub.stats();
    assert_eq!(
        (stats.topics, stats.subscribers, stats.queued),
        (2, 101, 100)
    );
}

#[test]
fn unsubscribe_and_drop_leave_topics() {
    let hub = Hub::new(HubConfig::default());
    let a = hub.subscriber();
    let b = hub.subscriber();
    a.subscribe("x").unwrap();
    a.subscribe("y").unwrap();
    b.subscribe("x").unwrap();
    assert_eq!(hub.subscriber_count("x"), 2);
    assert!(a.unsubscribe("x"));
    assert!(!a.unsubscribe("x"));
    assert_eq!(hub.publish("x", "1"), 1);
    assert_eq!(a.topics(), ["y"]);
    drop(a);
    assert_eq!(hub.subscriber_count("y"), 0);
    assert_eq!(hub.stats().topics, 1);
    drop(b);
    assert_eq!(hub.stats().topics, 0);
    assert_eq!(hub.stats().subscribers, 0);
}

#[test]
fn a_slow_subscriber_does_not_hold_up_the_others() {
    let hub = Hub::new(HubConfig::default().queue_capacity(4));
    let fast = hub.subscriber();
    let slow_oldest = hub.subscriber();
    let slow_newest = hub.subscriber_with(4, SlowPolicy::DropNewest);
    let slow_gone = hub.subscriber_with(4, SlowPolicy::POLICY_VIOLATION);
    for s in [&fast, &slow_oldest, &slow_newest, &slow_gone] {
        s.subscribe("feed").unwrap();
    }
    for i in 0..10 {
        hub.publish("feed", i.to_string());
        assert_eq!(payload(fast.try_next()), i.to_string());
    }
    assert_eq!(slow_oldest.stats().dropped, 6);
    assert_eq!(slow_oldest.stats().depth, 4);
    assert_eq!(payload(slow_oldest.try_next()), "6");
    assert_eq!(payload(slow_newest.try_next()), "0");
    assert_eq!(slow_newest.stats().dropped, 6);
    match slow_gone.try_next() {
        Some(Next::Disconnect(frame)) => assert_eq!(frame.code.0, 1008),
        other => panic!("{other:?}"),
    }
    assert!(slow_gone.stats().disconnected);
    let stats = hub.stats();
    assert_eq!(stats.dropped, 12);
    assert_eq!(stats.disconnected, 1);
    assert_eq!(fast.stats().dropped, 0);
}

#[test]
fn next_wakes_on_another_thread_s_publish() {
    let hub = Hub::new(HubConfig::default());
    let sub = hub.subscriber();
    sub.subscribe("t").unwrap();
    let publisher = {
        let hub = hub.clone();
        std::thread::spawn(move || {
            for i in 0..1000 {
                hub.publish("t", i.to_string());
                if i % 100 == 0 {
                    std::thread::yield_now();
                }
            }
        })
    };
    let hub_cap = hub.config().queue_capacity;
    let mut seen = Vec::new();
    futures::executor::block_on(async {
        // Bounded: at most every message, each at most once.
        while seen.len() < 1000 {
            match sub.next().await {
                Next::Message(m) => seen.push(String::from_utf8_lossy(m.payload()).into_owned()),
                Next::Disconnect(f) => panic!("{f:?}"),
            }
            if seen.last().map(String::as_str) == Some("999") {
                break;
            }
        }
    });
    publisher.join().unwrap();
    // In order, and anything missing was counted as dropped (DropOldest under a burst).
    let numbers: Vec<u32> = seen.iter().map(|s| s.parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(numbers.len() as u64 + sub.stats().dropped, 1000);
    assert!(sub.stats().depth <= hub_cap);
}

#[test]
fn limits_are_enforced() {
    let config = HubConfig {
        max_topic_len: 4,
        max_topics_per_subscriber: 2,
        max_topics: 3,
        ..HubConfig::default()
    };
    let hub = Hub::new(config);
    let a = hub.subscriber();
    assert!(matches!(
        a.subscribe("toolong"),
        Err(HubError::TopicTooLong { len: 7, max: 4 })
    ));
    a.subscribe("a").unwrap();
    a.subscribe("b").unwrap();
    assert_eq!(a.subscribe("c"), Err(HubError::TooManyTopics(2)));
    let b = hub.subscriber();
    b.subscribe("c").unwrap();
    assert_eq!(b.subscribe("d"), Err(HubError::HubFull(3)));
    b.subscribe("a").unwrap();
}

#[derive(Default)]
struct Recorder {
    log: Mutex<Vec<String>>,
    published: Mutex<Vec<Envelope>>,
}

impl Backplane for Recorder {
    fn publish(&self, envelope: &Envelope) {
        lock(&self.published).push(envelope.clone());
    }
    fn subscribe(&self, topic: &str) {
        lock(&self.log).push(format!("+{topic}"));
    }
    fn unsubscribe(&self, topic: &str) {
        lock(&self.log).push(format!("-{topic}"));
    }
}

#[test]
fn backplane_sees_first_and_last_subscriber_and_numbered_publishes() {
    let recorder = Arc::new(Recorder::default());
    let hub = Hub::with_backplane(HubConfig::default(), recorder.clone());
    let a = hub.subscriber();
    let b = hub.subscriber();
    a.subscribe("t").unwrap();
    b.subscribe("t").unwrap();
    a.unsubscribe("t");
    hub.publish("t", "one");
    hub.publish("nobody-here", "two");
    drop(b);
    assert_eq!(*lock(&recorder.log), ["+t", "-t"]);
    let published = lock(&recorder.published);
    let seqs: Vec<_> = published.iter().map(|e| (e.seq, e.node)).collect();
    assert_eq!(seqs, [(1, hub.node_id()), (2, hub.node_id())]);
}

#[test]
fn remote_messages_are_delivered_once_and_our_echo_is_ignored() {
    let hub = Hub::with_backplane(HubConfig::default(), Arc::new(Recorder::default()));
    let sub = hub.subscriber();
    sub.subscribe("t").unwrap();
    let remote = |node, seq, text: &str| Envelope {
        node: NodeId(node),
        seq,
        topic: "t".into(),
        message: PreparedMessage::text(text),
    };
    assert!(hub.deliver_remote(&remote(1, 1, "a")));
    assert!(!hub.deliver_remote(&remote(1, 1, "a again")));
    assert!(hub.deliver_remote(&remote(2, 1, "b")));
    assert!(hub.deliver_remote(&remote(1, 2, "c")));
    assert!(!hub.deliver_remote(&Envelope {
        node: hub.node_id(),
        ..remote(0, 9, "echo")
    }));
    let got: Vec<_> = std::iter::from_fn(|| sub.try_next())
        .map(|n| payload(Some(n)))
        .collect();
    assert_eq!(got, ["a", "b", "c"]);
    assert_eq!(hub.stats().remote_ignored, 2);
}
