use super::*;
use crate::proxy_env::no_proxy_matches;
use std::collections::HashMap;

/// Parses a proxy's answer to `CONNECT` under a head limit.
fn parse(buf: &[u8], limit: usize) -> Result<Option<usize>, ProxyError> {
    Proxy::new("http://p:1")
        .unwrap()
        .max_response_head(limit)
        .parse_connect_response(buf)
}

#[test]
fn parses_proxy_urls() {
    let p = Proxy::new("http://proxy.local:3128").unwrap();
    assert_eq!((p.host(), p.port(), p.user()), ("proxy.local", 3128, None));
    let p = Proxy::new("127.0.0.1:8080").unwrap();
    assert_eq!((p.host(), p.port()), ("127.0.0.1", 8080));
    let p = Proxy::new("http://[::1]").unwrap();
    assert_eq!((p.host(), p.port()), ("[::1]", 80));
    let p = Proxy::new("HTTP://al%40ce:p%3As%25s@h:1/").unwrap();
    assert_eq!(p.user(), Some("al@ce"));
    assert_eq!(p.credentials.as_ref().unwrap().1, "p:s%s");
}

#[test]
fn rejects_bad_proxy_urls_without_leaking_passwords() {
    for url in [
        "socks4://proxy:1080",
        "ftp://proxy",
        "http://proxy:3128/path",
        "http://",
        "http://proxy:notaport",
    ] {
        assert!(
            matches!(Proxy::new(url), Err(ProxyError::InvalidUrl { .. })),
            "{url}"
        );
    }
    let err = Proxy::new("socks4://bob:hunter2@proxy:1080").unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let debug = format!("{:?}", Proxy::new("http://bob:hunter2@p:1").unwrap());
    assert!(
        !debug.contains("hunter2") && debug.contains("bob"),
        "{debug}"
    );
}

#[test]
fn proxy_kinds_and_default_ports() {
    for (url, kind, port) in [
        ("http://h", ProxyKind::Http, 80),
        ("https://h", ProxyKind::Https, 443),
        ("socks5://h", ProxyKind::Socks5, 1080),
        ("SOCKS5H://u:pw@h:9050", ProxyKind::Socks5h, 9050),
    ] {
        let p = Proxy::new(url).unwrap();
        assert_eq!((p.kind(), p.port()), (kind, port), "{url}");
        assert_eq!(
            p.to_string(),
            format!("{}://h:{port}", kind.scheme()),
            "{url}"
        );
    }
    let p = Proxy::new("socks5h://u:pw@h:9050").unwrap();
    assert!(!p.to_string().contains("pw"));
    // Only socks5:// makes the client resolve, and only host names.
    let local = Proxy::new("socks5://h").unwrap();
    assert!(local.resolves_locally("example.com"));
    assert!(!local.resolves_locally("127.0.0.1"));
    assert!(!local.resolves_locally("[::1]"));
    assert!(!p.resolves_locally("example.com"));
    assert!(!Proxy::new("https://h")
        .unwrap()
        .resolves_locally("example.com"));
}

#[test]
fn builds_connect_requests() {
    let p = Proxy::new("http://p:3128").unwrap();
    assert_eq!(
        p.connect_request("example.com", 443),
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
    );
    assert_eq!(
        p.connect_request("::1", 9001),
        b"CONNECT [::1]:9001 HTTP/1.1\r\nHost: [::1]:9001\r\n\r\n"
    );
    assert_eq!(
        p.connect_request("[::1]", 9001),
        b"CONNECT [::1]:9001 HTTP/1.1\r\nHost: [::1]:9001\r\n\r\n"
    );
    // RFC 7617 §2: base64 of "user:password"; the RFC's example credentials.
    let p = p.basic_auth("Aladdin", "open sesame");
    let request = String::from_utf8(p.connect_request("h", 80)).unwrap();
    assert!(
        request.contains("\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"),
        "{request}"
    );
    assert!(request.ends_with("\r\n\r\n"));
}

#[test]
fn tunnel_established_with_leftover_bytes() {
    let answer = b"HTTP/1.1 200 Connection established\r\nProxy-Agent: x\r\n\r\nHTTP/1.1 101";
    let consumed = parse(answer, DEFAULT_PROXY_MAX_HEAD).unwrap().unwrap();
    assert_eq!(&answer[consumed..], b"HTTP/1.1 101");
    // HTTP/1.0 answers (tinyproxy sends them) and any 2xx open the tunnel.
    assert_eq!(parse(b"HTTP/1.0 200 OK\r\n\r\n", 1024).unwrap(), Some(19));
}

#[test]
fn answer_arriving_byte_by_byte() {
    let answer = b"HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n";
    for end in 0..answer.len() {
        assert_eq!(
            parse(&answer[..end], DEFAULT_PROXY_MAX_HEAD).unwrap(),
            None,
            "{end}"
        );
    }
    assert_eq!(
        parse(answer, DEFAULT_PROXY_MAX_HEAD).unwrap(),
        Some(answer.len())
    );
    // Split across chunks of every size, appended as a reader would.
    for chunk in 1..answer.len() {
        let mut buf = Vec::new();
        let mut done = None;
        for piece in answer.chunks(chunk) {
            buf.extend_from_slice(piece);
            done = parse(&buf, DEFAULT_PROXY_MAX_HEAD).unwrap();
        }
        assert_eq!(done, Some(answer.len()), "chunk {chunk}");
    }
}

#[test]
fn refusals_are_typed() {
    let err = parse(
        b"HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n",
        1024,
    )
    .unwrap_err();
    match &err {
        ProxyError::AuthRequired { challenge, .. } => {
            assert_eq!(challenge.as_deref(), Some("Basic realm=\"x\""))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.status(),
        Some(StatusCode::PROXY_AUTHENTICATION_REQUIRED)
    );
    // tinyproxy 1.11.1's answer to wrong credentials.
    let err = parse(b"HTTP/1.1 401 Unauthorized\r\n\r\n", 1024).unwrap_err();
    assert!(matches!(
        err,
        ProxyError::AuthRequired {
            status: StatusCode::UNAUTHORIZED,
            challenge: None,
            ..
        }
    ));
    // Refusals name the proxy, without credentials.
    assert!(err.to_string().contains("http://p:1"), "{err}");
    for (answer, code) in [
        (&b"HTTP/1.0 403 Access violation\r\n\r\nbody"[..], 403),
        (
            b"HTTP/1.1 502 Unable to connect\r\nContent-Length: 0\r\n\r\n",
            502,
        ),
        (b"HTTP/1.1 301 Moved\r\nLocation: /\r\n\r\n", 301),
    ] {
        let err = parse(answer, 1024).unwrap_err();
        assert!(
            matches!(&err, ProxyError::Rejected { status, .. } if *status == code),
            "{err:?}"
        );
        assert_eq!(err.status().map(|s| s.as_u16()), Some(code));
    }
}

#[test]
fn malformed_and_oversized_answers() {
    assert!(matches!(
        parse(b"SSH-2.0-OpenSSH\r\n\r\n", 1024),
        Err(ProxyError::MalformedResponse(_))
    ));
    assert!(matches!(
        parse(b"HTTP/1.1 2x0 Odd\r\n\r\n", 1024),
        Err(ProxyError::MalformedResponse(_))
    ));
    // A head that never ends stops growing at the limit.
    let mut endless = b"HTTP/1.1 200 OK\r\n".to_vec();
    while endless.len() <= 256 {
        endless.extend_from_slice(b"X-Pad: aaaaaaaa\r\n");
    }
    assert!(matches!(
        parse(&endless, 256),
        Err(ProxyError::ResponseTooLarge)
    ));
    // Complete but over the limit.
    endless.extend_from_slice(b"\r\n");
    assert!(matches!(
        parse(&endless, 256),
        Err(ProxyError::ResponseTooLarge)
    ));
    let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
    for _ in 0..100 {
        many.extend_from_slice(b"A: b\r\n");
    }
    many.extend_from_slice(b"\r\n");
    assert!(matches!(
        parse(&many, 1 << 20),
        Err(ProxyError::ResponseTooLarge)
    ));
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

fn selected(url: &str, vars: &[(&str, &str)]) -> Option<(String, u16)> {
    Proxy::from_env_with(&url.parse().unwrap(), env(vars))
        .unwrap()
        .map(|p| (p.host().to_string(), p.port()))
}

#[test]
fn env_selects_by_scheme() {
    let vars = [
        ("HTTPS_PROXY", "http://secure:1"),
        ("HTTP_PROXY", "http://plain:2"),
        ("ALL_PROXY", "http://all:3"),
    ];
    assert_eq!(
        selected("wss://a.example/", &vars),
        Some(("secure".into(), 1))
    );
    assert_eq!(
        selected("ws://a.example/", &vars),
        Some(("plain".into(), 2))
    );
    // ALL_PROXY is the fallback for either scheme.
    assert_eq!(
        selected("wss://a.example/", &vars[1..]),
        Some(("all".into(), 3))
    );
    assert_eq!(
        selected("ws://a.example/", &vars[2..]),
        Some(("all".into(), 3))
    );
    assert_eq!(
        selected("ws://a.example/", &[("HTTPS_PROXY", "http://s:1")]),
        None
    );
    assert_eq!(selected("ws://a.example/", &[]), None);
    // Lower case wins over upper case; empty values are unset.
    let vars = [
        ("http_proxy", "http://lower:4"),
        ("HTTP_PROXY", "http://upper:5"),
        ("https_proxy", ""),
        ("all_proxy", "http://all:6"),
    ];
    assert_eq!(
        selected("ws://a.example/", &vars),
        Some(("lower".into(), 4))
    );
    assert_eq!(selected("wss://a.example/", &vars), Some(("all".into(), 6)));
    // Credentials come along.
    let p = Proxy::from_env_with(
        &"wss://x/".parse().unwrap(),
        env(&[("HTTPS_PROXY", "http://u:p@h:9")]),
    )
    .unwrap()
    .unwrap();
    assert_eq!(p.user(), Some("u"));
}

#[test]
fn env_invalid_proxy_is_an_error() {
    let result = Proxy::from_env_with(
        &"ws://a/".parse().unwrap(),
        env(&[("ALL_PROXY", "socks4://h:1080")]),
    );
    assert!(matches!(result, Err(ProxyError::InvalidUrl { .. })));
}

#[test]
fn no_proxy_exempts_targets() {
    let proxy = ("HTTP_PROXY", "http://p:1");
    let with = |list: &str, url: &str| selected(url, &[proxy, ("NO_PROXY", list)]).is_none();
    assert!(with("*", "ws://anything/"));
    assert!(with("localhost,127.0.0.1", "ws://127.0.0.1:9001/"));
    assert!(with(" other , localhost ", "ws://LocalHost/"));
    assert!(with("example.com", "ws://example.com/"));
    assert!(with("example.com", "ws://api.example.com/"));
    assert!(with(".example.com", "ws://api.example.com/"));
    assert!(with("*.example.com", "ws://api.example.com/"));
    assert!(!with("example.com", "ws://badexample.com/"));
    assert!(!with("api.example.com", "ws://example.com/"));
    assert!(!with("", "ws://example.com/"));
    assert!(!with(",,", "ws://example.com/"));
    // Ports: an entry with a port only matches that port (default ports included).
    assert!(with("example.com:80", "ws://example.com/"));
    assert!(!with("example.com:8080", "ws://example.com/"));
    assert!(with("example.com:443", "wss://example.com/"));
    // IPv6 literals, with and without brackets and ports.
    assert!(with("::1", "ws://[::1]:9001/"));
    assert!(with("[::1]:9001", "ws://[::1]:9001/"));
    assert!(!with("[::1]:9002", "ws://[::1]:9001/"));
    // Lower-case no_proxy is honoured too.
    assert!(selected("ws://h/", &[proxy, ("no_proxy", "h")]).is_none());
}

#[test]
fn no_proxy_matching_rules() {
    assert!(no_proxy_matches("example.com.", "example.com", 1));
    assert!(no_proxy_matches("example.com", "www.example.com.", 1));
    assert!(!no_proxy_matches(".", "example.com", 1));
}

#[test]
fn no_proxy_cidr_ranges() {
    // IPv4.
    assert!(no_proxy_matches("10.0.0.0/8", "10.1.2.3", 1));
    assert!(!no_proxy_matches("10.0.0.0/8", "11.1.2.3", 1));
    assert!(no_proxy_matches("192.168.1.0/24", "192.168.1.255", 1));
    assert!(!no_proxy_matches("192.168.1.0/24", "192.168.2.0", 1));
    assert!(no_proxy_matches("127.0.0.1/32", "127.0.0.1", 1));
    assert!(!no_proxy_matches("127.0.0.1/32", "127.0.0.2", 1));
    assert!(no_proxy_matches("0.0.0.0/0", "203.0.113.9", 1));
    // Host bits in the network are ignored, as curl does.
    assert!(no_proxy_matches("10.9.9.9/8", "10.0.0.1", 1));
    // IPv6, bracketed or not, targets bracketed as in URLs.
    assert!(no_proxy_matches("fd00::/8", "[fd12:3456::1]", 1));
    assert!(!no_proxy_matches("fd00::/8", "[fe80::1]", 1));
    assert!(no_proxy_matches("[::1]/128", "[::1]", 1));
    assert!(no_proxy_matches("2001:db8::/32", "2001:db8:ffff::1", 1));
    assert!(!no_proxy_matches("2001:db8::/32", "2001:db9::1", 1));
    assert!(no_proxy_matches("::/0", "[2001:db8::1]", 1));
    // Families never mix; names are not resolved; bad ranges match nothing.
    assert!(!no_proxy_matches("0.0.0.0/0", "[::1]", 1));
    assert!(!no_proxy_matches("::/0", "127.0.0.1", 1));
    assert!(!no_proxy_matches("127.0.0.0/8", "localhost", 1));
    assert!(!no_proxy_matches("10.0.0.0/33", "10.0.0.1", 1));
    assert!(!no_proxy_matches("10.0.0.0/x", "10.0.0.1", 1));
    assert!(!no_proxy_matches("example.com/8", "example.com", 1));
    // In a list, through the environment.
    let vars = [
        ("ALL_PROXY", "socks5h://p:1080"),
        ("NO_PROXY", "localhost, 10.0.0.0/8"),
    ];
    assert_eq!(selected("ws://10.20.30.40:9001/", &vars), None);
    assert_eq!(selected("ws://11.0.0.1/", &vars), Some(("p".into(), 1080)));
}

#[test]
fn env_names_any_proxy_kind_as_curl_reads_it() {
    let kind = |url: &str, vars: &[(&str, &str)]| {
        Proxy::from_env_with(&url.parse().unwrap(), env(vars))
            .unwrap()
            .map(|p| (p.kind(), p.port()))
    };
    assert_eq!(
        kind("wss://x/", &[("ALL_PROXY", "socks5h://u:pw@p:9050")]),
        Some((ProxyKind::Socks5h, 9050))
    );
    assert_eq!(
        kind("ws://x/", &[("all_proxy", "socks5://p")]),
        Some((ProxyKind::Socks5, 1080))
    );
    assert_eq!(
        kind("wss://x/", &[("HTTPS_PROXY", "https://p")]),
        Some((ProxyKind::Https, 443))
    );
    // Without a scheme curl assumes http://.
    assert_eq!(
        kind("ws://x/", &[("http_proxy", "p:3128")]),
        Some((ProxyKind::Http, 3128))
    );
}

proptest::proptest! {
    /// Any bytes, any limit: no panic; a tunnel is only reported open within the limit and the
    /// bytes read; incomplete input only while under the limit; and feeding the same bytes in
    /// growing prefixes gives the whole input's answer at the first prefix that decides (only
    /// the size limit may decide earlier).
    #[test]
    fn any_answer_is_handled(
        body in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        status_line in proptest::bool::ANY,
        limit in 0usize..400,
    ) {
        let mut input = if status_line { b"HTTP/1.1 200 OK\r\n".to_vec() } else { Vec::new() };
        input.extend_from_slice(&body);
        let whole = parse(&input, limit);
        match &whole {
            Ok(Some(n)) => proptest::prop_assert!(*n <= limit && *n <= input.len()),
            Ok(None) => proptest::prop_assert!(input.len() <= limit),
            Err(_) => {}
        }
        for end in 0..=input.len() {
            match parse(&input[..end], limit) {
                Ok(None) => continue,
                Err(ProxyError::ResponseTooLarge) => break,
                first => {
                    proptest::prop_assert_eq!(format!("{first:?}"), format!("{whole:?}"));
                    break;
                }
            }
        }
    }
}
