use super::*;
use crate::server::{parse_request, respond, Accept, NoCallback, ServerConfig};
use proptest::prelude::*;

fn accepted_response(client: &ClientHandshake, extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_key(client.key().as_bytes())
    )
    .into_bytes()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn request_from_url() {
    let c = ClientHandshake::new("ws://example.com/chat?room=1").unwrap();
    let req = text(&c.request_bytes());
    assert!(req.starts_with("GET /chat?room=1 HTTP/1.1\r\n"), "{req}");
    assert!(req.contains("host: example.com\r\n"), "{req}");
    assert!(req.contains("upgrade: websocket\r\n"));
    assert!(req.contains("connection: Upgrade\r\n"));
    assert!(req.contains("sec-websocket-version: 13\r\n"));
    assert!(req.contains(&format!("sec-websocket-key: {}\r\n", c.key())));
    assert!(req.ends_with("\r\n\r\n"));
    assert_eq!((c.host(), c.port(), c.is_tls()), ("example.com", 80, false));
}

#[test]
fn host_ports_and_ipv6() {
    let c = ClientHandshake::new("wss://example.com:8443").unwrap();
    assert!(text(&c.request_bytes()).contains("host: example.com:8443\r\n"));
    assert_eq!((c.port(), c.is_tls()), (8443, true));
    let c = ClientHandshake::new("wss://example.com:443/").unwrap();
    assert!(text(&c.request_bytes()).contains("host: example.com\r\n"));
    let c = ClientHandshake::new("ws://[::1]:9001/x").unwrap();
    assert!(text(&c.request_bytes()).contains("host: [::1]:9001\r\n"));
    assert_eq!(c.host(), "[::1]");
    let c = ClientHandshake::new("ws://127.0.0.1").unwrap();
    assert!(text(&c.request_bytes()).starts_with("GET / HTTP/1.1\r\n"));
}

#[test]
fn bad_urls() {
    assert!(matches!(
        ClientHandshake::new("http://example.com"),
        Err(ClientError::UnsupportedScheme(_))
    ));
    assert!(matches!(
        ClientHandshake::new("//example.com/x"),
        Err(ClientError::UnsupportedScheme(_) | ClientError::InvalidUri(_))
    ));
    assert!(matches!(
        ClientHandshake::new("ws://exa mple.com"),
        Err(ClientError::InvalidUri(_))
    ));
}

#[test]
fn user_headers_are_kept_and_keys_are_fresh() {
    let mut req = "ws://example.com/".into_client_request().unwrap();
    let h = req.headers_mut();
    h.insert("origin", "https://example.com".parse().unwrap());
    h.insert("cookie", "session=abc".parse().unwrap());
    h.insert("authorization", "Bearer t".parse().unwrap());
    h.insert("sec-websocket-protocol", "chat, superchat".parse().unwrap());
    let a = ClientHandshake::new(req.clone()).unwrap();
    let b = ClientHandshake::new(req).unwrap();
    assert_ne!(a.key(), b.key());
    let bytes = text(&a.request_bytes());
    for line in [
        "origin: https://example.com",
        "cookie: session=abc",
        "authorization: Bearer t",
        "sec-websocket-protocol: chat, superchat",
    ] {
        assert!(bytes.contains(line), "{line} in {bytes}");
    }
}

#[test]
fn accepted_response_with_leftover_frames() {
    let mut c = ClientHandshake::new("ws://h/").unwrap();
    let mut resp = accepted_response(&c, "");
    let head = resp.len();
    resp.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
    match c.parse_response(&resp).unwrap() {
        ClientStatus::Done {
            response,
            protocol,
            extensions,
            consumed,
        } => {
            assert_eq!(response.status(), 101);
            assert_eq!((protocol, extensions.len(), consumed), (None, 0, head));
            assert_eq!(&resp[consumed..], [0x81, 0x02, b'h', b'i']);
        }
        ClientStatus::Partial => panic!("complete"),
    }
}

#[test]
fn each_bad_response_has_its_own_error() {
    let mut c = ClientHandshake::new("ws://h/").unwrap();
    let good = text(&accepted_response(&c, ""));
    type Check = fn(&ClientError) -> bool;
    let cases: Vec<(String, Check)> = vec![
        (good.replace("Upgrade: websocket\r\n", ""), |e| {
            matches!(e, ClientError::MissingUpgrade)
        }),
        (
            good.replace("Connection: Upgrade\r\n", "Connection: keep-alive\r\n"),
            |e| matches!(e, ClientError::MissingConnectionUpgrade),
        ),
        (
            good.replace("Sec-WebSocket-Accept: ", "Sec-WebSocket-Accept: x"),
            |e| matches!(e, ClientError::InvalidAccept),
        ),
        (
            good.replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: chat\r\n\r\n"),
            |e| matches!(e, ClientError::UnofferedSubprotocol(_)),
        ),
        (
            good.replace(
                "\r\n\r\n",
                "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
            ),
            |e| matches!(e, ClientError::UnofferedExtension(_)),
        ),
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".into(), |e| {
            matches!(e, ClientError::Rejected { .. })
        }),
        ("HTTP/1.1 abc\r\n\r\n".into(), |e| {
            matches!(e, ClientError::MalformedResponse(_))
        }),
    ];
    for (resp, is_expected) in cases {
        let err = c.parse_response(resp.as_bytes()).unwrap_err();
        assert!(is_expected(&err), "{resp:?} gave {err:?}");
    }
}

#[test]
fn mixed_case_and_token_lists_are_accepted() {
    let mut c = ClientHandshake::new("ws://h/").unwrap();
    let resp = text(&accepted_response(&c, ""))
        .replace("Upgrade: websocket", "UPGRADE: WebSocket")
        .replace("Connection: Upgrade", "connection: keep-alive, upgrade");
    assert!(matches!(
        c.parse_response(resp.as_bytes()),
        Ok(ClientStatus::Done { .. })
    ));
}

#[test]
fn offered_subprotocol_is_returned() {
    let mut req = "ws://h/".into_client_request().unwrap();
    req.headers_mut()
        .insert("sec-websocket-protocol", "a, b".parse().unwrap());
    let mut c = ClientHandshake::new(req).unwrap();
    let resp = accepted_response(&c, "Sec-WebSocket-Protocol: b\r\n");
    match c.parse_response(&resp).unwrap() {
        ClientStatus::Done { protocol, .. } => assert_eq!(protocol.as_deref(), Some("b")),
        ClientStatus::Partial => panic!(),
    }
}

#[test]
fn rejection_carries_status_headers_and_body() {
    let mut c = ClientHandshake::new("ws://h/").unwrap();
    let resp = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 8\r\nX-Why: policy\r\n\r\nno entry";
    // Until the body is complete, more bytes are needed.
    assert!(matches!(
        c.parse_response(&resp[..resp.len() - 3]),
        Ok(ClientStatus::Partial)
    ));
    match c.parse_response(resp) {
        Err(ClientError::Rejected { response }) => {
            assert_eq!(response.status(), 403);
            assert_eq!(response.headers()["x-why"], "policy");
            assert_eq!(response.body(), b"no entry");
        }
        other => panic!("{other:?}"),
    }
    // Without Content-Length the body ends at EOF.
    let resp = b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n\r\nmoved";
    assert!(matches!(c.parse_response(resp), Ok(ClientStatus::Partial)));
    match c.finish_eof(resp) {
        ClientError::Rejected { response } => {
            assert_eq!(response.status(), 302);
            assert_eq!(response.headers()["location"], "/elsewhere");
            assert_eq!(response.body(), b"moved");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        c.finish_eof(b"HTTP/1.1 101 Swi"),
        ClientError::UnexpectedEof
    ));
}

#[test]
fn oversized_response_head_is_refused() {
    let mut c = ClientHandshake::new("ws://h/").unwrap();
    let mut resp = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
    while resp.len() <= 16 * 1024 {
        resp.extend_from_slice(b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    assert!(matches!(
        c.parse_response(&resp),
        Err(ClientError::ResponseTooLarge)
    ));
}

#[test]
fn end_to_end_with_the_server_side() {
    let mut req = "ws://localhost:9001/path".into_client_request().unwrap();
    req.headers_mut()
        .insert("sec-websocket-protocol", "x, y".parse().unwrap());
    let mut c = ClientHandshake::new(req).unwrap();
    let bytes = c.request_bytes();
    let (request, consumed) = parse_request(&bytes, &ServerConfig::default())
        .unwrap()
        .unwrap();
    assert_eq!(consumed, bytes.len());
    assert_eq!(request.uri().path(), "/path");
    let (response, negotiated) = respond(&request, |_: &http::Request<()>| {
        Ok(Accept::new().protocol("y"))
    })
    .unwrap();
    assert_eq!(negotiated.protocol.as_deref(), Some("y"));
    assert!(matches!(
        c.parse_response(&response),
        Ok(ClientStatus::Done { .. })
    ));
    let (plain, _) = respond(&request, NoCallback).unwrap();
    assert!(matches!(
        c.parse_response(&plain),
        Ok(ClientStatus::Done { protocol: None, .. })
    ));
}

proptest! {
    #[test]
    fn response_parses_the_same_in_any_chunks(cut in 0usize..200, trailing in proptest::collection::vec(any::<u8>(), 0..16)) {
        let mut c = ClientHandshake::new("ws://h/").unwrap();
        let mut resp = accepted_response(&c, "X-Extra: 1\r\n");
        let head = resp.len();
        resp.extend_from_slice(&trailing);
        let cut = cut.min(head - 1);
        // Every strict prefix of the head is "need more", never an error.
        for n in [0, 1, cut, head - 1] {
            prop_assert!(matches!(c.parse_response(&resp[..n]), Ok(ClientStatus::Partial)));
        }
        match c.parse_response(&resp) {
            Ok(ClientStatus::Done { consumed, .. }) => prop_assert_eq!(&resp[consumed..], &trailing[..]),
            other => prop_assert!(false, "{:?}", other),
        }
    }
}
