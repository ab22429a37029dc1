//! The client's upgrade-response parser (`ClientHandshake::parse_response`, RFC 6455 §4.1).
//!
//! The client is real: it offers subprotocols `chat` and `superchat` and permessage-deflate,
//! with a fresh random key. The fuzz input is a response template in which every `{accept}` is
//! replaced with the accept value of that key, so the accept check passes as well as fails and
//! the checks after it are reached (seed: a valid 101 built this way).
//!
//! Asserts, for the bytes fed whole and then as growing prefixes:
//! * an accepted response ends at `consumed <= len`, every shorter prefix is `Partial`, and the
//!   prefix up to `consumed` gives the same answer (bytes after the head are frames);
//! * an accepted response is a 101 with `Sec-WebSocket-Accept` matching the key, a subprotocol
//!   we offered (or none) and only extensions we offered; its permessage-deflate parameters go
//!   through `deflate_check_response`, and what that agrees to builds a working codec;
//! * the first decisive answer of the chunked parse is the whole input's answer (a refusal's
//!   body included), except that the 16 KiB head limit may fail it before a malformed byte;
//! * `finish_eof` on any input returns an error and does not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_handshake::{
    accept_key, deflate_check_response, deflate_offer, ClientError, ClientHandshake, ClientStatus,
    DeflateOptions, PERMESSAGE_DEFLATE,
};
use ws_proto::{BytesMut, Extension as _, PerMessageDeflate, Role};

const PLACEHOLDER: &[u8] = b"{accept}";

fn substitute(template: &[u8], accept: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(i) = rest
        .windows(PLACEHOLDER.len())
        .position(|w| w == PLACEHOLDER)
    {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(accept);
        rest = &rest[i + PLACEHOLDER.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// A comparable summary: `ClientStatus`/`ClientError` hold `http` types without `PartialEq`.
fn describe(r: &Result<ClientStatus, ClientError>) -> String {
    match r {
        Ok(ClientStatus::Partial) => "partial".into(),
        Ok(done) => format!("{done:?}"),
        Err(e) => format!("error {e:?}"),
    }
}

// Raw bytes rather than an `Arbitrary` tuple, so seeds are readable responses: byte 0 picks the
// offer and the chunk size, the rest is the response template.
fuzz_target!(|input: &[u8]| {
    let [step, ref template @ ..] = *input else {
        return;
    };
    let mut request = http::Request::new(());
    *request.uri_mut() = http::Uri::from_static("ws://example.com/chat");
    request.headers_mut().insert(
        http::header::SEC_WEBSOCKET_PROTOCOL,
        http::HeaderValue::from_static("chat, superchat"),
    );
    let mut client = ClientHandshake::new(request).expect("a valid request");
    let mut options = DeflateOptions::default();
    options.client_no_context_takeover = step & 1 != 0;
    options.server_max_window_bits = (step & 2 != 0).then_some(10);
    client
        .offer_extension(&deflate_offer(&options))
        .expect("a valid offer");
    let accept = accept_key(client.key().as_bytes());
    let data = substitute(template, accept.as_bytes());

    let whole = client.parse_response(&data);
    let whole_d = describe(&whole);
    let _ = client.finish_eof(&data);

    if let Ok(ClientStatus::Done {
        response,
        protocol,
        extensions,
        consumed,
    }) = &whole
    {
        assert!(*consumed <= data.len());
        assert_eq!(response.status(), 101);
        let got = response.headers().get_all("sec-websocket-accept");
        assert_eq!(got.iter().count(), 1);
        assert_eq!(got.iter().next().unwrap().as_bytes(), accept.as_bytes());
        if let Some(p) = protocol {
            assert!(
                p == "chat" || p == "superchat",
                "unoffered subprotocol {p:?}"
            );
        }
        for ext in extensions {
            assert_eq!(ext.name, PERMESSAGE_DEFLATE, "unoffered extension");
            if let Ok(agreed) = deflate_check_response(&options, ext) {
                assert!((9..=15).contains(&agreed.client_max_window_bits));
                assert!((8..=15).contains(&agreed.server_max_window_bits));
                if let Some(asked) = options.server_max_window_bits {
                    assert!(agreed.server_max_window_bits <= asked);
                }
                if options.client_no_context_takeover {
                    assert!(agreed.client_no_context_takeover);
                }
                // What was agreed works: our compressor's output inflates on the server side.
                let mut config = agreed;
                config.threshold = 0;
                let mut ours = PerMessageDeflate::new(Role::Client, &config);
                let mut theirs = PerMessageDeflate::new(Role::Server, &config);
                let (_, wire) = ours.encode(&data).expect("compresses");
                let mut out = BytesMut::new();
                theirs
                    .decode(&wire, true, &mut out, data.len())
                    .expect("inflates");
                assert_eq!(&out[..], &data[..]);
            }
        }
        for k in 0..*consumed {
            assert!(
                matches!(client.parse_response(&data[..k]), Ok(ClientStatus::Partial)),
                "prefix of {k} bytes of an accepted response is not partial"
            );
        }
        assert_eq!(
            describe(&client.parse_response(&data[..*consumed])),
            whole_d
        );
    }

    // Growing prefixes, as reads arrive.
    let step = usize::from(step >> 2) + 1;
    let mut end = 0;
    let chunked = loop {
        end = (end + step).min(data.len());
        let r = client.parse_response(&data[..end]);
        if !matches!(r, Ok(ClientStatus::Partial)) || end == data.len() {
            break r;
        }
    };
    let chunked_d = describe(&chunked);
    // Only the size limit may decide before the byte that makes the whole input fail.
    let early_ok = matches!(chunked, Err(ClientError::ResponseTooLarge)) && whole.is_err();
    if !early_ok {
        assert_eq!(chunked_d, whole_d, "chunks of {step} bytes disagree");
    }
});
