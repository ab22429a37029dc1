use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

fn proxy(url: &str) -> Proxy {
    Proxy::new(url).unwrap()
}

fn handshake(url: &str, target: Socks5Target) -> Socks5Handshake {
    Socks5Handshake::new(&proxy(url), target).unwrap()
}

fn domain(host: &str, port: u16) -> Socks5Target {
    Socks5Target::Domain(host.into(), port)
}

/// A success reply with a bound IPv4 address, then `tail` (the target's first bytes).
fn ok_reply(tail: &[u8]) -> Vec<u8> {
    let mut reply = vec![5, 0, 0, 1, 127, 0, 0, 1, 0x1F, 0x90];
    reply.extend_from_slice(tail);
    reply
}

/// Feeds `input` one more byte at a time: every proper prefix is `Partial` (on a clone, so
/// the state does not move), and the whole input gives the same answer as at once.
fn parse_split(
    socks: &mut Socks5Handshake,
    input: &[u8],
    decided_at: usize,
) -> Result<TunnelStatus, ProxyError> {
    for end in 0..decided_at {
        assert_eq!(
            socks.clone().parse(&input[..end]).unwrap(),
            TunnelStatus::Partial,
            "prefix of {end} bytes of {input:?}"
        );
    }
    socks.parse(input)
}

#[test]
fn no_auth_connect_by_name_split_at_every_byte() {
    let mut socks = handshake("socks5h://p:1080", domain("example.com", 443));
    assert_eq!(socks.greeting(), [5, 1, 0]);
    let mut request = vec![5, 1, 0, 3, 11];
    request.extend_from_slice(b"example.com");
    request.extend_from_slice(&443u16.to_be_bytes());
    assert_eq!(
        parse_split(&mut socks, &[5, 0], 2).unwrap(),
        TunnelStatus::Send {
            consumed: 2,
            bytes: request
        }
    );
    let reply = ok_reply(b"HTTP/1.1 101");
    assert_eq!(
        parse_split(&mut socks, &reply, 10).unwrap(),
        TunnelStatus::Done { consumed: 10 }
    );
}

#[test]
fn bound_address_of_each_type_is_skipped() {
    let mut v6 = vec![5, 0, 0, 4];
    v6.extend_from_slice(&[0; 16]);
    v6.extend_from_slice(&[0, 80]);
    let mut name = vec![5, 0, 0, 3, 4];
    name.extend_from_slice(b"host\0\x50");
    for reply in [ok_reply(b""), v6, name] {
        let mut socks = handshake("socks5h://p", domain("h", 1));
        socks.parse(&[5, 0]).unwrap();
        let mut input = reply.clone();
        input.extend_from_slice(b"after");
        assert_eq!(
            parse_split(&mut socks, &input, reply.len()).unwrap(),
            TunnelStatus::Done {
                consumed: reply.len()
            }
        );
    }
}

#[test]
fn ip_targets_are_sent_as_addresses() {
    let ip4 = Socks5Target::Ip(Ipv4Addr::new(10, 1, 2, 3).into(), 9001);
    let mut socks = handshake("socks5://p", ip4);
    let TunnelStatus::Send { bytes, .. } = socks.parse(&[5, 0]).unwrap() else {
        panic!("expected the connect request");
    };
    assert_eq!(bytes, [5, 1, 0, 1, 10, 1, 2, 3, 0x23, 0x29]);
    let ip6 = Socks5Target::Ip(Ipv6Addr::LOCALHOST.into(), 80);
    let mut socks = handshake("socks5://p", ip6);
    let TunnelStatus::Send { bytes, .. } = socks.parse(&[5, 0]).unwrap() else {
        panic!("expected the connect request");
    };
    let mut expected = vec![5, 1, 0, 4];
    expected.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
    expected.extend_from_slice(&[0, 80]);
    assert_eq!(bytes, expected);
}

#[test]
fn targets_follow_the_proxy_kind() {
    let local = proxy("socks5://p");
    let remote = proxy("socks5h://p");
    let ip = Some(Ipv4Addr::LOCALHOST.into());
    assert_eq!(
        Socks5Handshake::target_for(&local, "localhost", 1, ip),
        Socks5Target::Ip(Ipv4Addr::LOCALHOST.into(), 1)
    );
    assert_eq!(
        Socks5Handshake::target_for(&remote, "localhost", 1, ip),
        domain("localhost", 1)
    );
    assert_eq!(
        Socks5Handshake::target_for(&remote, "[::1]", 2, None),
        Socks5Target::Ip(Ipv6Addr::LOCALHOST.into(), 2)
    );
}

#[test]
fn password_authentication_rfc_1929() {
    let mut socks = handshake("socks5h://al%40ce:pw@p", domain("h", 80));
    assert_eq!(socks.greeting(), [5, 2, 0, 2]);
    let auth = b"\x01\x05al@ce\x02pw".to_vec();
    assert_eq!(
        parse_split(&mut socks, &[5, 2], 2).unwrap(),
        TunnelStatus::Send {
            consumed: 2,
            bytes: auth
        }
    );
    assert_eq!(
        parse_split(&mut socks, &[1, 0], 2).unwrap(),
        TunnelStatus::Send {
            consumed: 2,
            bytes: b"\x05\x01\x00\x03\x01h\x00\x50".to_vec()
        }
    );
    assert_eq!(
        socks.parse(&ok_reply(b"")).unwrap(),
        TunnelStatus::Done { consumed: 10 }
    );
    // The proxy may still choose no authentication.
    let mut socks = handshake("socks5h://u:pw@p", domain("h", 80));
    assert!(matches!(
        socks.parse(&[5, 0]).unwrap(),
        TunnelStatus::Send { bytes, .. } if bytes[..2] == [5, 1]
    ));
}

#[test]
fn wrong_credentials_name_the_proxy() {
    let mut socks = handshake("socks5://u:secret@proxy.example:1081", domain("h", 80));
    socks.parse(&[5, 2]).unwrap();
    let err = socks.parse(&[1, 1]).unwrap_err();
    assert!(
        matches!(&err, ProxyError::Socks5AuthFailed { status: 1, proxy } if proxy == "socks5://proxy.example:1081"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("socks5://proxy.example:1081"), "{text}");
    assert!(!text.contains("secret"), "{text}");
}

#[test]
fn no_acceptable_method() {
    for (url, offered_password) in [("socks5://p", false), ("socks5://u:pw@p", true)] {
        let mut socks = handshake(url, domain("h", 80));
        let err = socks.parse(&[5, 0xFF]).unwrap_err();
        assert!(
            matches!(err, ProxyError::Socks5NoAcceptableMethod { offered_password: o, .. } if o == offered_password),
            "{err:?}"
        );
    }
    // Choosing a method that was not offered (password without credentials, GSSAPI).
    for method in [1, 2, 0x80] {
        let mut socks = handshake("socks5://p", domain("h", 80));
        assert!(matches!(
            socks.parse(&[5, method]),
            Err(ProxyError::Socks5Malformed { .. })
        ));
    }
}

#[test]
fn every_reply_code_is_a_typed_refusal_in_words() {
    for code in 1..=255u8 {
        let mut socks = handshake("socks5h://p:1080", domain("h", 80));
        socks.parse(&[5, 0]).unwrap();
        // Refused as soon as the code is read, whatever follows.
        let err = parse_split(&mut socks, &[5, code], 2).unwrap_err();
        let ProxyError::Socks5Refused { proxy, reply } = &err else {
            panic!("{code}: {err:?}");
        };
        assert_eq!(proxy, "socks5h://p:1080");
        assert_eq!(reply.code(), code);
        assert_eq!(Socks5Reply::from_code(code), Some(*reply));
        let text = err.to_string();
        assert!(text.contains(&format!("reply code {code}")), "{text}");
    }
    assert_eq!(Socks5Reply::from_code(0), None);
    let words = |code| Socks5Reply::from_code(code).unwrap().to_string();
    assert!(words(1).starts_with("general SOCKS server failure"));
    assert!(words(2).contains("not allowed"));
    assert!(words(3).starts_with("network unreachable"));
    assert!(words(4).starts_with("host unreachable"));
    assert!(words(5).contains("refused"));
    assert!(words(6).starts_with("TTL expired"));
    assert!(words(7).contains("CONNECT"));
    assert!(words(8).contains("address type"));
    assert!(words(9).starts_with("unassigned"));
}

#[test]
fn malformed_replies() {
    // Not SOCKS5 at all: an HTTP proxy answering the greeting.
    let mut socks = handshake("socks5://p", domain("h", 80));
    assert!(matches!(
        socks.parse(b"HTTP/1.1 400 Bad Request\r\n"),
        Err(ProxyError::Socks5Malformed { .. })
    ));
    let mut socks = handshake("socks5://p", domain("h", 80));
    socks.parse(&[5, 0]).unwrap();
    assert!(matches!(
        socks.parse(&[4, 0, 0, 1]),
        Err(ProxyError::Socks5Malformed { .. })
    ));
    let mut socks = handshake("socks5://p", domain("h", 80));
    socks.parse(&[5, 0]).unwrap();
    assert!(matches!(
        socks.parse(&[5, 0, 0, 9, 0, 0]),
        Err(ProxyError::Socks5Malformed { .. })
    ));
    let mut socks = handshake("socks5://u:p@p", domain("h", 80));
    socks.parse(&[5, 2]).unwrap();
    assert!(matches!(
        socks.parse(&[5, 0]),
        Err(ProxyError::Socks5Malformed { .. })
    ));
}

#[test]
fn over_long_fields_are_refused() {
    let long = "x".repeat(256);
    let err = Socks5Handshake::new(&proxy("socks5h://p"), domain(&long, 1)).unwrap_err();
    assert!(matches!(
        err,
        ProxyError::Socks5FieldTooLong {
            field: "target host name"
        }
    ));
    let with_user = proxy("socks5://p").basic_auth(&long, "pw");
    assert!(matches!(
        Socks5Handshake::new(&with_user, domain("h", 1)),
        Err(ProxyError::Socks5FieldTooLong { .. })
    ));
    // 255 bytes fit.
    assert!(Socks5Handshake::new(&proxy("socks5h://p"), domain(&long[..255], 1)).is_ok());
}

#[test]
fn tunnel_drives_socks_and_http_alike() {
    let socks = proxy("socks5h://p");
    let mut tunnel = socks.tunnel("example.com", 443, None).unwrap();
    assert_eq!(tunnel.start(), [5, 1, 0]);
    assert!(matches!(
        tunnel.parse(&[5, 0]).unwrap(),
        TunnelStatus::Send { consumed: 2, .. }
    ));
    assert_eq!(
        tunnel.parse(&ok_reply(b"x")).unwrap(),
        TunnelStatus::Done { consumed: 10 }
    );
    assert!(matches!(
        tunnel.eof_error(),
        ProxyError::UnexpectedEof { proxy } if proxy == "socks5h://p:1080"
    ));
    let http = proxy("https://p");
    let mut tunnel = http.tunnel("example.com", 443, None).unwrap();
    assert!(tunnel
        .start()
        .starts_with(b"CONNECT example.com:443 HTTP/1.1\r\n"));
    assert_eq!(
        tunnel.parse(b"HTTP/1.1 200 OK\r\n").unwrap(),
        TunnelStatus::Partial
    );
    assert_eq!(
        tunnel.parse(b"HTTP/1.1 200 OK\r\n\r\n").unwrap(),
        TunnelStatus::Done { consumed: 19 }
    );
}

proptest::proptest! {
    /// Any bytes after the greeting: no panic, and a completed tunnel never claims more bytes
    /// than were read.
    #[test]
    fn any_reply_is_handled(
        reply in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        with_password in proptest::bool::ANY,
    ) {
        let url = if with_password { "socks5h://u:pw@p" } else { "socks5h://p" };
        let mut socks = handshake(url, domain("h", 80));
        let mut buf = reply.as_slice();
        for _ in 0..3 {
            match socks.parse(buf) {
                Ok(TunnelStatus::Send { consumed, .. }) => {
                    proptest::prop_assert!(consumed <= buf.len());
                    buf = &buf[consumed..];
                }
                Ok(TunnelStatus::Done { consumed }) => {
                    proptest::prop_assert!(consumed <= buf.len());
                    break;
                }
                Ok(TunnelStatus::Partial) | Err(_) => break,
            }
        }
    }
}
