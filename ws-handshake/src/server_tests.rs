use super::*;
use proptest::prelude::*;

const GOOD: &str = "GET /chat?x=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn parse(s: &str) -> Result<Option<(Request<()>, usize)>, ServerError> {
    parse_request(s.as_bytes(), &ServerConfig::default())
}

fn status_of(s: &str) -> u16 {
    parse(s).unwrap_err().status().as_u16()
}

#[test]
fn rfc_example_request_and_response() {
    let (req, n) = parse(GOOD).unwrap().unwrap();
    assert_eq!(n, GOOD.len());
    assert_eq!(req.uri().path(), "/chat");
    assert_eq!(req.uri().query(), Some("x=1"));
    assert_eq!(req.headers()["origin"], "http://example.com");
    assert_eq!(offered_protocols(&req), ["chat", "superchat"]);
    let (resp, negotiated) =
        respond(&req, |_: &Request<()>| Ok(Accept::new().protocol("chat"))).unwrap();
    let resp = String::from_utf8(resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    assert!(
        resp.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{resp}"
    );
    assert!(resp.contains("Sec-WebSocket-Protocol: chat\r\n"));
    assert_eq!(negotiated.protocol.as_deref(), Some("chat"));
}

#[test]
fn malformed_requests_get_the_right_status() {
    let cases = [
        (GOOD.replace("GET", "POST"), 405),
        (GOOD.replace("HTTP/1.1", "HTTP/1.0"), 400),
        (GOOD.replace("Host: server.example.com\r\n", ""), 400),
        (GOOD.replace("Host: server.example.com\r\n", "Host: a\r\nHost: b\r\n"), 400),
        (GOOD.replace("Upgrade: websocket\r\n", ""), 426),
        (GOOD.replace("Connection: Upgrade\r\n", "Connection: keep-alive\r\n"), 400),
        (GOOD.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""), 400),
        (GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZQ=="), 400), // 10 bytes
        (GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", "not base64!"), 400),
        (GOOD.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"), 400),
        (GOOD.replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8"), 426),
        (GOOD.replace("Sec-WebSocket-Version: 13\r\n", ""), 426),
        (GOOD.replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: foo; =\r\n\r\n"), 400),
        ("GET / HTTP/1.1\r\nBad Header\r\n\r\n".to_string(), 400),
    ];
    for (req, status) in cases {
        assert_eq!(status_of(&req), status, "{req}");
    }
}

#[test]
fn error_responses_carry_required_headers() {
    let err = parse(&GOOD.replace("Version: 13", "Version: 7")).unwrap_err();
    let bytes = String::from_utf8(err.response_bytes()).unwrap();
    assert!(
        bytes.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{bytes}"
    );
    assert!(bytes.contains("Sec-WebSocket-Version: 13\r\n"));
    assert!(bytes.contains("Connection: close\r\n"));
    let body = bytes.split("\r\n\r\n").nth(1).unwrap();
    assert!(bytes.contains(&format!("Content-Length: {}\r\n", body.len())));
}

#[test]
fn oversized_heads_are_431_without_unbounded_buffering() {
    let config = ServerConfig::default().max_header_bytes(1024);
    // A head that never ends is refused once it passes the byte limit.
    let mut endless = b"GET / HTTP/1.1\r\n".to_vec();
    while endless.len() <= 1024 {
        assert!(matches!(parse_request(&endless, &config), Ok(None)));
        endless.extend_from_slice(b"X-Pad: 0123456789\r\n");
    }
    let err = parse_request(&endless, &config).unwrap_err();
    assert_eq!(err.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    // Too many header lines.
    let config = config.max_headers(8);
    let many = GOOD.replace(
        "\r\n\r\n",
        &format!("\r\n{}\r\n", "X-A: 1\r\n".repeat(8).trim_end()),
    );
    assert_eq!(
        parse_request(many.as_bytes(), &config)
            .unwrap_err()
            .status()
            .as_u16(),
        431
    );
}

#[test]
fn hook_can_reject_with_anything() {
    let (req, _) = parse(GOOD).unwrap().unwrap();
    let (err, bytes) = respond(&req, |r: &Request<()>| {
        assert_eq!(r.headers()["origin"], "http://example.com");
        Err(Reject::new(StatusCode::UNAUTHORIZED)
            .header(
                http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer"),
            )
            .body("log in first"))
    })
    .unwrap_err();
    assert_eq!(err, ServerError::Rejected(StatusCode::UNAUTHORIZED));
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with("HTTP/1.1 401 Unauthorized\r\n"));
    assert!(text.contains("www-authenticate: Bearer\r\n"));
    assert!(text.ends_with("\r\n\r\nlog in first"));
}

#[test]
fn hook_cannot_choose_what_was_not_offered() {
    let (req, _) = parse(GOOD).unwrap().unwrap();
    let (err, _) =
        respond(&req, |_: &Request<()>| Ok(Accept::new().protocol("other"))).unwrap_err();
    assert_eq!(err, ServerError::NotOffered("other".into()));
    let (err, _) = respond(&req, |_: &Request<()>| {
        Ok(Accept::new().extension(Extension::new("x-ext")))
    })
    .unwrap_err();
    assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[test]
fn extensions_and_extra_headers_in_the_response() {
    let req_text = GOOD.replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
    );
    let (req, _) = parse(&req_text).unwrap().unwrap();
    assert_eq!(offered_extensions(&req)[0].name, "permessage-deflate");
    let (resp, negotiated) = respond(&req, |_: &Request<()>| {
        Ok(Accept::new()
            .extension(
                Extension::new("permessage-deflate").param("server_no_context_takeover", None),
            )
            .header(http::header::SET_COOKIE, HeaderValue::from_static("a=b")))
    })
    .unwrap();
    let resp = String::from_utf8(resp).unwrap();
    assert!(
        resp.contains(
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"
        ),
        "{resp}"
    );
    assert!(resp.contains("set-cookie: a=b\r\n"));
    assert_eq!(negotiated.extensions.len(), 1);
}

/// A request as an HTTP library hands it over: parsed, with a body type of its own.
fn library_request(text: &str) -> Request<Vec<u8>> {
    let mut raw = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Request::new(&mut raw);
    parsed.parse(text.as_bytes()).unwrap();
    let mut builder = Request::builder()
        .method(parsed.method.unwrap())
        .uri(parsed.path.unwrap())
        .version(if parsed.version == Some(0) {
            Version::HTTP_10
        } else {
            Version::HTTP_11
        });
    for h in parsed.headers.iter() {
        builder = builder.header(h.name, h.value);
    }
    builder.body(b"ignored".to_vec()).unwrap()
}

#[test]
fn parsed_requests_are_validated_like_bytes() {
    // The same cases as the byte parser, minus the one only a byte parser sees.
    let cases = [
        GOOD.replace("GET", "POST"),
        GOOD.replace("HTTP/1.1", "HTTP/1.0"),
        GOOD.replace("Host: server.example.com\r\n", ""),
        GOOD.replace("Upgrade: websocket\r\n", "Upgrade: h2c\r\n"),
        GOOD.replace("Connection: Upgrade\r\n", "Connection: keep-alive\r\n"),
        GOOD.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
        GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZQ=="),
        GOOD.replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8"),
        GOOD.replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: foo; =\r\n\r\n"),
    ];
    for text in cases {
        let from_bytes = parse(&text).unwrap_err();
        let from_library = validate_request(&library_request(&text)).unwrap_err();
        assert_eq!(from_library, from_bytes, "{text}");
    }
    validate_request(&library_request(GOOD)).unwrap();
}

#[test]
fn error_response_heads_carry_required_headers() {
    let err = validate_request(&library_request(
        &GOOD.replace("Sec-WebSocket-Version: 13\r\n", ""),
    ))
    .unwrap_err();
    let response = err.response();
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()["sec-websocket-version"], "13");
    assert!(!response.body().is_empty());
    let method = ServerError::MethodNotAllowed("POST".into()).response();
    assert_eq!(method.headers()["allow"], "GET");
}

#[test]
fn only_requests_asking_for_websocket_are_upgrade_requests() {
    assert!(is_upgrade_request(&library_request(GOOD)));
    // Invalid, but meant for us: validation answers it.
    assert!(is_upgrade_request(&library_request(
        &GOOD.replace("Sec-WebSocket-Version: 13\r\n", "")
    )));
    let plain = "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
    assert!(!is_upgrade_request(&library_request(plain)));
}

#[test]
fn head_and_bytes_give_the_same_response() {
    let text = GOOD.replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
    );
    let library = library_request(&text);
    let head = request_head(&library);
    assert_eq!(head.uri(), library.uri());
    assert_eq!(head.headers(), library.headers());
    let decide = |_: &Request<()>| {
        Ok(Accept::new()
            .protocol("superchat")
            .extension(Extension::new("permessage-deflate"))
            .header(http::header::SET_COOKIE, HeaderValue::from_static("a=b")))
    };
    let (response, negotiated) = respond_head(&head, decide).unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(
        response.headers()["sec-websocket-accept"],
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert_eq!(response.headers()["sec-websocket-protocol"], "superchat");
    assert_eq!(
        response.headers()["sec-websocket-extensions"],
        "permessage-deflate"
    );
    assert_eq!(negotiated.protocol.as_deref(), Some("superchat"));
    let (parsed, _) = parse(&text).unwrap().unwrap();
    let (bytes, _) = respond(&parsed, decide).unwrap();
    assert_eq!(bytes, encode_response(&response));
    // A rejection keeps its status, headers and body.
    let reject = |_: &Request<()>| Err(Reject::new(StatusCode::FORBIDDEN).body("no"));
    let refusal = respond_head(&head, reject).unwrap_err();
    assert_eq!(refusal.error, ServerError::Rejected(StatusCode::FORBIDDEN));
    assert_eq!(refusal.response.status(), StatusCode::FORBIDDEN);
    assert_eq!(refusal.response.body(), b"no");
}

#[test]
fn invalid_header_values_in_an_accept_are_500_not_a_panic() {
    let text = GOOD.replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
    );
    let (req, _) = parse(&text).unwrap().unwrap();
    let bad = Extension::new("permessage-deflate").param("x", Some("a\r\nb".to_string()));
    let refusal =
        respond_head(&req, |_: &Request<()>| Ok(Accept::new().extension(bad))).unwrap_err();
    assert!(
        matches!(refusal.error, ServerError::InvalidAccept(_)),
        "{refusal:?}"
    );
    assert_eq!(refusal.response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

proptest! {
    #[test]
    fn request_parses_the_same_in_any_chunks(trailing in proptest::collection::vec(any::<u8>(), 0..16)) {
        let mut bytes = GOOD.as_bytes().to_vec();
        bytes.extend_from_slice(&trailing);
        for n in 0..GOOD.len() {
            prop_assert!(matches!(parse_request(&bytes[..n], &ServerConfig::default()), Ok(None)));
        }
        let (req, consumed) = parse_request(&bytes, &ServerConfig::default()).unwrap().unwrap();
        prop_assert_eq!(consumed, GOOD.len());
        prop_assert_eq!(&bytes[consumed..], &trailing[..]);
        prop_assert_eq!(req.uri().path(), "/chat");
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_request(&bytes, &ServerConfig::default());
    }
}
