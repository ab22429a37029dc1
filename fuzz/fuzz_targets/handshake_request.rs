//! The server's upgrade-request parser (`parse_request`, RFC 6455 §4.2.1).
//!
//! Asserts, for arbitrary bytes fed whole and then as growing prefixes (as a server re-parses
//! everything received so far after each read):
//! * a complete request is found at `consumed <= len`, every shorter prefix is "need more", and
//!   every prefix from `consumed` on gives the same request, so bytes after the head never
//!   change it;
//! * when the whole input fails, the chunked parse fails too, with the same error unless the
//!   size limit cut it short first (431 before the malformed byte arrived);
//! * "need more" is only answered while the input is within `max_header_bytes`;
//! * an accepted request is a GET over HTTP/1.1 with the checked headers, and `respond`
//!   answers it with a 101 whose accept key is derived from its key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_handshake::{accept_key, parse_request, respond, NoCallback, ServerConfig, ServerError};

fn describe(
    r: &Result<Option<(http::Request<()>, usize)>, ServerError>,
) -> Result<Option<String>, ServerError> {
    match r {
        Ok(Some((req, n))) => Ok(Some(format!(
            "{} {} {:?} {:?} consumed {n}",
            req.method(),
            req.uri(),
            req.version(),
            req.headers()
        ))),
        Ok(None) => Ok(None),
        Err(e) => Err(e.clone()),
    }
}

// Raw bytes rather than an `Arbitrary` tuple, so seeds are readable requests: byte 0 picks the
// limits, byte 1 the chunk size, the rest is what the client sent.
fuzz_target!(|input: &[u8]| {
    let [limit, step, ref data @ ..] = *input else {
        return;
    };
    // Small limits as well as the defaults, so both the 431 paths and whole requests are hit.
    let config = if limit & 1 == 0 {
        ServerConfig::default()
    } else {
        ServerConfig::default()
            .max_header_bytes(64 + usize::from(limit) * 4)
            .max_headers(usize::from(limit % 16))
    };
    let whole = parse_request(&data, &config);
    let whole_d = describe(&whole);

    match &whole {
        Ok(Some((req, consumed))) => {
            assert!(*consumed <= data.len() && *consumed <= config.max_header_bytes);
            assert_eq!(req.method(), http::Method::GET);
            assert_eq!(req.version(), http::Version::HTTP_11);
            for k in 0..*consumed {
                assert!(
                    matches!(parse_request(&data[..k], &config), Ok(None)),
                    "prefix of {k} bytes is not 'need more'"
                );
            }
            assert_eq!(
                describe(&parse_request(&data[..*consumed], &config)),
                whole_d
            );
            let (response, _) = respond(req, NoCallback).expect("a valid request is accepted");
            let key = req.headers()["sec-websocket-key"].as_bytes().trim_ascii();
            let accept = format!("Sec-WebSocket-Accept: {}\r\n", accept_key(key));
            assert!(response.starts_with(b"HTTP/1.1 101 "));
            assert!(response
                .windows(accept.len())
                .any(|w| w == accept.as_bytes()));
        }
        Ok(None) => assert!(data.len() <= config.max_header_bytes),
        Err(e) => {
            let _ = e.response_bytes();
        }
    }

    // Growing prefixes, as reads arrive: the first decisive answer is the whole one.
    let step = usize::from(step % 32) + 1;
    let mut end = 0;
    let chunked = loop {
        end = (end + step).min(data.len());
        let r = parse_request(&data[..end], &config);
        if !matches!(r, Ok(None)) || end == data.len() {
            break r;
        }
    };
    let chunked_d = describe(&chunked);
    match (&whole_d, &chunked_d) {
        (Err(_), Err(ServerError::HeadersTooLarge))
        | (Err(ServerError::HeadersTooLarge), Err(_)) => {}
        _ => assert_eq!(chunked_d, whole_d, "chunks of {step} bytes disagree"),
    }
});
