use super::*;
use crate::{respond_head, Accept, Callback, Extension, NoCallback, Reject};
use http::header::{SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_PROTOCOL};
use http::{HeaderValue, StatusCode};

fn client(url: &str, protocols: Option<&str>) -> ClientHandshake {
    let mut request = url.into_client_request().unwrap();
    if let Some(p) = protocols {
        request
            .headers_mut()
            .insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_str(p).unwrap());
    }
    let mut handshake = ClientHandshake::new(request).unwrap();
    handshake
        .offer_extension(&Extension::new("permessage-deflate"))
        .unwrap();
    handshake
}

use crate::IntoClientRequest;

#[test]
fn the_client_request_is_an_extended_connect_without_key_or_hop_headers() {
    let handshake = client(
        "wss://example.com:8443/chat?room=1",
        Some("chat, superchat"),
    );
    let request = handshake.extended_connect_request().unwrap();
    assert_eq!(request.method(), Method::CONNECT);
    assert_eq!(request.version(), Version::HTTP_2);
    assert_eq!(request.uri(), "https://example.com:8443/chat?room=1");
    for absent in ["host", "upgrade", "connection", "sec-websocket-key"] {
        assert!(!request.headers().contains_key(absent), "{absent}");
    }
    assert_eq!(request.headers()["sec-websocket-version"], "13");
    assert_eq!(
        request.headers()["sec-websocket-protocol"],
        "chat, superchat"
    );
    assert!(request.headers().contains_key(SEC_WEBSOCKET_EXTENSIONS));
    let plain = client("ws://example.com/", None);
    assert_eq!(
        plain.extended_connect_request().unwrap().uri(),
        "http://example.com/"
    );
}

#[test]
fn a_valid_extended_connect_is_answered_200_with_the_same_negotiation() {
    let handshake = client("ws://example.com/chat", Some("chat, superchat"));
    let request = handshake.extended_connect_request().unwrap();
    assert!(is_extended_connect(&request, Some("websocket")));
    validate_extended_connect(&request, Some("websocket")).unwrap();
    let choose = |request: &Request<()>| {
        assert_eq!(request.method(), Method::CONNECT);
        Ok::<_, Reject>(
            Accept::new()
                .protocol("superchat")
                .extension(Extension::new("permessage-deflate")),
        )
    };
    let (response, negotiated) = respond_head(&request, choose).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for absent in ["upgrade", "connection"] {
        assert!(!response.headers().contains_key(absent), "{absent}");
    }
    assert!(!response.headers().contains_key(SEC_WEBSOCKET_ACCEPT));
    assert_eq!(response.headers()[SEC_WEBSOCKET_PROTOCOL], "superchat");
    assert_eq!(negotiated.protocol.as_deref(), Some("superchat"));
    // The client accepts what it offered.
    let seen = handshake
        .check_extended_connect_response(&response)
        .unwrap();
    assert_eq!(seen, negotiated);
}

#[test]
fn invalid_extended_connects_are_refused_with_their_status() {
    let handshake = client("ws://example.com/chat", None);
    let good = handshake.extended_connect_request().unwrap();
    let status = |request: &Request<()>, protocol: Option<&str>| {
        validate_extended_connect(request, protocol)
            .unwrap_err()
            .status()
    };
    assert_eq!(status(&good, None), StatusCode::BAD_REQUEST);
    assert_eq!(
        validate_extended_connect(&good, Some("webtransport")),
        Err(ServerError::UnsupportedProtocol("webtransport".into()))
    );
    let mut get = good.clone();
    *get.method_mut() = Method::GET;
    assert!(!is_extended_connect(&get, Some("websocket")));
    assert_eq!(
        status(&get, Some("websocket")),
        StatusCode::METHOD_NOT_ALLOWED
    );
    let mut http11 = good.clone();
    *http11.version_mut() = Version::HTTP_11;
    assert_eq!(
        validate_extended_connect(&http11, Some("websocket")),
        Err(ServerError::UnsupportedHttpVersion)
    );
    let mut old = good.clone();
    old.headers_mut()
        .insert("sec-websocket-version", HeaderValue::from_static("8"));
    assert_eq!(
        status(&old, Some("websocket")),
        StatusCode::UPGRADE_REQUIRED
    );
    let mut bad_ext = good.clone();
    bad_ext
        .headers_mut()
        .insert(SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_static(";;"));
    assert_eq!(status(&bad_ext, Some("websocket")), StatusCode::BAD_REQUEST);
}

#[test]
fn the_callback_rejects_an_extended_connect_as_it_would_an_upgrade() {
    struct Forbid;
    impl Callback for Forbid {
        fn on_request(self, _: &Request<()>) -> Result<Accept, Reject> {
            Err(Reject::new(StatusCode::FORBIDDEN).body("no"))
        }
    }
    let request = client("ws://example.com/", None)
        .extended_connect_request()
        .unwrap();
    let refusal = respond_head(&request, Forbid).unwrap_err();
    assert_eq!(refusal.response.status(), StatusCode::FORBIDDEN);
    // And a plain acceptance negotiates nothing.
    let (response, negotiated) = respond_head(&request, NoCallback).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(negotiated, Negotiated::default());
}

#[test]
fn the_client_checks_the_200_like_a_101() {
    let handshake = client("ws://example.com/", Some("chat"));
    let answer = |status: u16, header: Option<(&'static str, &'static str)>| {
        let mut response = Response::new(());
        *response.status_mut() = StatusCode::from_u16(status).unwrap();
        if let Some((name, value)) = header {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        response
    };
    let ok = handshake
        .check_extended_connect_response(&answer(200, Some(("sec-websocket-protocol", "chat"))))
        .unwrap();
    assert_eq!(ok.protocol.as_deref(), Some("chat"));
    assert!(matches!(
        handshake.check_extended_connect_response(&answer(
            200,
            Some(("sec-websocket-protocol", "other"))
        )),
        Err(ClientError::UnofferedSubprotocol(_))
    ));
    assert!(matches!(
        handshake.check_extended_connect_response(&answer(
            200,
            Some(("sec-websocket-extensions", "x-unknown"))
        )),
        Err(ClientError::UnofferedExtension(_))
    ));
    match handshake.check_extended_connect_response(&answer(403, None)) {
        Err(ClientError::Rejected { response }) => assert_eq!(response.status(), 403),
        other => panic!("{other:?}"),
    }
}
