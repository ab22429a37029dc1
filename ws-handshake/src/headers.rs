//! Header helpers: comma-separated token lists, case-insensitive (RFC 7230 §7, RFC 6455 §4).

use http::header::{HeaderMap, HeaderName};

/// The comma-separated elements of every `name` header line, trimmed, empty ones skipped.
pub(crate) fn list_values<'a>(
    headers: &'a HeaderMap,
    name: &'a HeaderName,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Whether a `name` header lists `token`, compared case-insensitively.
pub(crate) fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    list_values(headers, name).any(|t| t.eq_ignore_ascii_case(token))
}

/// The single value of a header that must appear at most once; `Err(())` when repeated.
pub(crate) fn single<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'a http::HeaderValue>, ()> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(());
    }
    Ok(first)
}

/// Copies parsed httparse headers into a `HeaderMap`.
pub(crate) fn to_header_map(raw: &[httparse::Header<'_>]) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::with_capacity(raw.len());
    for h in raw {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| format!("invalid header name {:?}", h.name))?;
        let value = http::HeaderValue::from_bytes(h.value)
            .map_err(|_| format!("invalid value of header {}", h.name))?;
        map.append(name, value);
    }
    Ok(map)
}

/// Appends `name: value\r\n` for every header.
pub(crate) fn write_headers(out: &mut Vec<u8>, headers: &HeaderMap) {
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// [`write_headers`] for a server's response, with the handshake's own headers in the RFC's
/// spelling: names are case-insensitive, but some hand-written clients are not.
pub(crate) fn write_response_headers(out: &mut Vec<u8>, headers: &HeaderMap) {
    for (name, value) in headers {
        out.extend_from_slice(rfc_spelling(name).as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

fn rfc_spelling(name: &HeaderName) -> &str {
    use http::header::*;
    match *name {
        UPGRADE => "Upgrade",
        CONNECTION => "Connection",
        SEC_WEBSOCKET_ACCEPT => "Sec-WebSocket-Accept",
        SEC_WEBSOCKET_PROTOCOL => "Sec-WebSocket-Protocol",
        SEC_WEBSOCKET_EXTENSIONS => "Sec-WebSocket-Extensions",
        SEC_WEBSOCKET_VERSION => "Sec-WebSocket-Version",
        _ => name.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::CONNECTION;

    #[test]
    fn tokens_across_lines_and_case() {
        let mut h = HeaderMap::new();
        h.append(CONNECTION, "keep-alive, UpGrade".parse().unwrap());
        assert!(has_token(&h, &CONNECTION, "upgrade"));
        let mut h = HeaderMap::new();
        h.append(CONNECTION, "keep-alive".parse().unwrap());
        h.append(CONNECTION, " Upgrade ".parse().unwrap());
        assert!(has_token(&h, &CONNECTION, "upgrade"));
        let mut h = HeaderMap::new();
        h.append(CONNECTION, "upgraded".parse().unwrap());
        assert!(!has_token(&h, &CONNECTION, "upgrade"));
    }
}
