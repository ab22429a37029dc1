//! The closing handshake (RFC 6455 §7): who closes, what is echoed, what a close frame may
//! carry, and end of file before it.

use super::tests::{
    client_frame, close_code_sent, events, fails_with, frame, msg, sent_frames, server,
};
use super::*;
use crate::*;

#[test]
fn close_initiated_by_peer() {
    let mut s = server();
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    s.receive(&client_frame(true, OpCode::Close, &payload));
    assert_eq!(
        events(&mut s),
        [msg(Message::Close(Some(CloseFrame::new(1000, "bye"))))]
    );
    assert_eq!(s.state(), State::CloseReceived);
    assert!(!s.should_close_transport());
    assert_eq!(s.send(Message::text("late")), Err(SendError::Closed));
    let reply = sent_frames(&mut s);
    assert_eq!(reply.len(), 1);
    assert_eq!(
        (reply[0].0.opcode, &reply[0].1[..]),
        (OpCode::Close, &1000u16.to_be_bytes()[..])
    );
    assert_eq!(s.state(), State::Closed);
    assert!(s.should_close_transport(), "the server closes TCP first");
    // Anything after the close is ignored.
    s.receive(&client_frame(true, OpCode::Text, b"after"));
    assert_eq!(s.next_event(), Ok(None));
}

#[test]
fn close_initiated_locally_by_client() {
    let mut c = Connection::new(Role::Client, Config::default());
    c.close(Some(CloseFrame::new(CloseCode::GOING_AWAY, "later")))
        .unwrap();
    assert_eq!(c.state(), State::CloseSent);
    assert_eq!(close_code_sent(&mut c), Some(1001));
    assert_eq!(c.send(Message::binary(vec![1])), Err(SendError::Closed));
    assert_eq!(c.close(None), Err(SendError::Closed));
    // Data from the peer still arrives until its close.
    c.receive(&frame(true, OpCode::Text, b"still", false));
    c.receive(&frame(true, OpCode::Close, &1001u16.to_be_bytes(), false));
    assert_eq!(
        events(&mut c),
        [
            msg(Message::text("still")),
            msg(Message::Close(Some(CloseFrame::new(1001, ""))))
        ]
    );
    assert_eq!(c.output_len(), 0, "no second close is sent");
    assert_eq!(c.state(), State::Closed);
    assert!(
        c.awaiting_transport_close(),
        "the client waits for the server to close TCP"
    );
    assert!(!c.should_close_transport());
    c.receive_eof();
    assert!(c.should_close_transport());
    assert_eq!(
        c.next_event(),
        Ok(None),
        "EOF after the handshake is not an error"
    );
}

#[test]
fn empty_close_is_answered_with_empty_close() {
    let mut s = server();
    s.receive(&client_frame(true, OpCode::Close, b""));
    assert_eq!(events(&mut s), [msg(Message::Close(None))]);
    let reply = sent_frames(&mut s);
    assert_eq!((reply[0].0.opcode, reply[0].1.len()), (OpCode::Close, 0));
}

#[test]
fn close_payload_rules() {
    fails_with(
        &client_frame(true, OpCode::Close, &[0x03]),
        Role::Server,
        ProtocolError::InvalidClosePayload,
        1002,
    );
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
        fails_with(
            &client_frame(true, OpCode::Close, &code.to_be_bytes()),
            Role::Server,
            ProtocolError::InvalidCloseCode(code),
            1002,
        );
    }
    let mut bad_reason = 1000u16.to_be_bytes().to_vec();
    bad_reason.extend_from_slice(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80");
    fails_with(
        &client_frame(true, OpCode::Close, &bad_reason),
        Role::Server,
        ProtocolError::InvalidUtf8,
        1007,
    );
    for code in [1000u16, 1003, 1007, 1011, 1012, 1014, 3000, 4999] {
        let mut s = server();
        s.receive(&client_frame(true, OpCode::Close, &code.to_be_bytes()));
        assert_eq!(
            events(&mut s),
            [msg(Message::Close(Some(CloseFrame::new(code, ""))))]
        );
        assert_eq!(close_code_sent(&mut s), Some(code), "echoes {code}");
    }
    let mut s = server();
    assert_eq!(
        s.close(Some(CloseFrame::new(1005, ""))),
        Err(SendError::InvalidCloseCode(1005))
    );
    let long = "x".repeat(124);
    assert_eq!(
        s.close(Some(CloseFrame::new(1000, long.as_str()))),
        Err(SendError::CloseReasonTooLong(124))
    );
}

#[test]
fn eof_before_close_is_abnormal_once() {
    let mut s = server();
    let f = client_frame(true, OpCode::Text, b"hello");
    s.receive(&f[..4]);
    s.receive_eof();
    assert_eq!(s.next_event(), Err(ProtocolError::AbnormalClosure));
    assert_eq!(ProtocolError::AbnormalClosure.close_code().0, 1006);
    assert_eq!(s.next_event(), Ok(None));
    assert_eq!(s.output_len(), 0, "nothing is sent for an abnormal closure");
    assert!(s.should_close_transport());
    // Complete messages buffered before EOF are still delivered first.
    let mut s = server();
    s.receive(&f);
    s.receive_eof();
    assert_eq!(
        s.next_event(),
        Ok(Some(Event::Message(Message::text("hello"))))
    );
    assert_eq!(s.next_event(), Err(ProtocolError::AbnormalClosure));
}
