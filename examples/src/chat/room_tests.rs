use super::*;
use ws_hub::Next;

fn text(event: &Event) -> String {
    event.to_json().to_string()
}

/// What the member has queued now, as text.
fn queued(member: &Membership) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(Next::Message(m)) = member.subscriber().try_next() {
        out.push(String::from_utf8_lossy(m.payload()).into_owned());
    }
    out
}

#[test]
fn wire_format() {
    let event = Event::Message {
        from: "a\"b".into(),
        text: "<hi>\n".into(),
    };
    assert_eq!(
        event.to_json().as_str(),
        r#"{"type":"message","from":"a\"b","text":"<hi>\n"}"#
    );
    let leave = Event::Leave {
        name: "x".into(),
        reason: None,
    };
    assert_eq!(leave.to_json().as_str(), r#"{"type":"leave","name":"x"}"#);
}

#[test]
fn broadcast_join_and_leave() {
    let room = Room::new(8);
    let a = room.join("alice".into()).unwrap();
    let b = room.join("bob".into()).unwrap();
    room.publish(&Event::Message {
        from: "alice".into(),
        text: "hi".into(),
    });
    let welcome_b = Event::Welcome {
        name: "bob".into(),
        users: vec!["alice".into(), "bob".into()],
    };
    let join_b = text(&Event::Join { name: "bob".into() });
    let hi = text(&Event::Message {
        from: "alice".into(),
        text: "hi".into(),
    });
    assert_eq!(queued(&b), [text(&welcome_b), join_b.clone(), hi.clone()]);
    // alice: welcome, own join, bob's join, the message.
    let seen = queued(&a);
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[2..], [join_b, hi]);
    drop(b);
    let left = text(&Event::Leave {
        name: "bob".into(),
        reason: None,
    });
    assert_eq!(queued(&a), [left]);
    assert_eq!(room.len(), 1);
    // One framing per event for every member: the hub counts publishes, not copies.
    let stats = room.hub().stats();
    assert_eq!(stats.published, 4);
}

#[test]
fn duplicate_names_get_a_suffix() {
    let room = Room::new(8);
    let a = room.join("ann".into()).unwrap();
    let b = room.join("ann".into()).unwrap();
    let c = room.join("ann".into()).unwrap();
    assert_eq!([a.name(), b.name(), c.name()], ["ann", "ann-2", "ann-3"]);
    drop(b);
    assert_eq!(room.join("ann".into()).unwrap().name(), "ann-2");
}

#[test]
fn full_queue_drops_only_that_member() {
    let room = Room::new(3);
    // slow's queue: welcome, own join, fast's join: full.
    let mut slow = room.join("slow".into()).unwrap();
    let fast = room.join("fast".into()).unwrap();
    queued(&fast);
    room.publish(&Event::Message {
        from: "fast".into(),
        text: "one too many".into(),
    });
    assert_eq!(
        slow.take_kicked().unwrap().try_recv().ok(),
        Some(too_slow_frame())
    );
    assert_eq!(room.len(), 1);
    let seen = queued(&fast);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[0].contains("one too many"));
    assert!(seen[1].contains(r#""type":"leave","name":"slow","reason":"too slow""#));
    // Its queue was discarded; the hub tells it to go.
    match slow.subscriber().try_next() {
        Some(Next::Disconnect(frame)) => assert_eq!(frame.code, CloseCode::POLICY_VIOLATION),
        other => panic!("expected a disconnect, got {other:?}"),
    }
    // Leaving after being dropped announces nothing more.
    assert_eq!(slow.fell_behind(), too_slow_frame());
    drop(slow);
    assert!(queued(&fast).is_empty());
}
