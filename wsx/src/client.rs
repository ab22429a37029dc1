//! `wsx connect`: standard input to messages, messages to standard output.

use crate::cli::ConnectArgs;
use crate::exit::{chain, Exit, Failure};
use crate::session::session;
use crate::tls;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;
use ws_tokio::http::header::{HeaderName, HeaderValue, SEC_WEBSOCKET_PROTOCOL};
use ws_tokio::http::{Request, Uri};
use ws_tokio::{ClientConfig, ClientError, Error, Proxy, ProxyError, TlsFailure};

/// Runs `wsx connect`.
pub async fn run(args: ConnectArgs) -> Result<(), Failure> {
    let (request, addr) = build_request(&args)?;
    let mut config = ClientConfig::default().handshake_timeout(args.connect_timeout);
    if let Some(interval) = args.ping_interval {
        config = config.keepalive_interval((!interval.is_zero()).then_some(interval));
    }
    if args.insecure {
        config = config.tls(tls::insecure_client_config()?);
    } else if request.uri().scheme_str() == Some("wss") {
        config = trust(config, &args.cacert)?;
    }
    config = match args.proxy.as_deref() {
        None => config.proxy_from_env(),
        Some("") => config,
        Some(url) => {
            let proxy = Proxy::new(url)
                .map_err(|e| Failure::new(Exit::Usage, format!("invalid --proxy: {e}")))?;
            config.proxy(Some(proxy))
        }
    };
    let connecting = ws_tokio::connect_with(request, config);
    // The library bounds everything after the TCP connection with the same timeout and names
    // the stage that ran out (the proxy, the handshake); this bound, a little later, only
    // catches a TCP connection that never completes.
    let bound = args.connect_timeout + CONNECT_GRACE;
    let (ws, response) = match tokio::time::timeout(bound, connecting).await {
        Ok(Ok(connected)) => connected,
        Ok(Err(e)) => return Err(connect_failure(&args.url, &addr, e)),
        Err(_) => {
            return Err(Failure::new(
                Exit::Network,
                format!(
                    "connecting to {addr} timed out after {:?}",
                    args.connect_timeout
                ),
            ))
        }
    };
    let protocol = response
        .headers()
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .map(|p| format!(" (subprotocol {p})"))
        .unwrap_or_default();
    eprintln!("wsx: connected to {}{protocol}", args.url);
    if args.send.is_some() || args.recv {
        return crate::transfer::transfer(ws, args.send.as_deref(), args.recv).await;
    }
    session(ws, args.binary, args.linger).await
}

/// How much longer than `--connect-timeout` the whole connect may take, so that the library's
/// own timeout (which says what was slow) fires first.
const CONNECT_GRACE: Duration = Duration::from_millis(500);

/// The roots a `wss://` connection trusts: the web PKI roots, the system store (which is
/// `SSL_CERT_FILE`/`SSL_CERT_DIR` when set, as with OpenSSL), and each `--cacert` file.
fn trust(mut config: ClientConfig, cacerts: &[PathBuf]) -> Result<ClientConfig, Failure> {
    let tls_failure = |e: Error| Failure::new(Exit::Tls, chain(&e));
    config = config.trust_system_roots();
    // Named explicitly too, so that an unreadable file is reported rather than skipped.
    if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty()) {
        config = config.add_root_pem_file(file).map_err(tls_failure)?;
    }
    for file in cacerts {
        config = config.add_root_pem_file(file).map_err(tls_failure)?;
    }
    Ok(config)
}

/// The upgrade request (URL, extra headers, subprotocol offers) and the `host:port` it goes
/// to, for messages.
fn build_request(args: &ConnectArgs) -> Result<(Request<()>, String), Failure> {
    let usage = |message: String| Failure::new(Exit::Usage, message);
    let uri: Uri = args
        .url
        .parse()
        .map_err(|e| usage(format!("invalid URL {:?}: {e}", args.url)))?;
    let default_port = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("ws") => 80,
        Some(s) if s.eq_ignore_ascii_case("wss") => 443,
        _ => {
            return Err(usage(format!(
                "invalid URL {:?}: the scheme must be ws:// or wss://",
                args.url
            )))
        }
    };
    let Some(host) = uri.host().filter(|h| !h.is_empty()) else {
        return Err(usage(format!("invalid URL {:?}: no host", args.url)));
    };
    let addr = format!("{host}:{}", uri.port_u16().unwrap_or(default_port));
    let mut request = Request::new(());
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    for header in &args.headers {
        let Some((name, value)) = header.split_once(':') else {
            return Err(usage(format!(
                "invalid --header {header:?}: expected 'Name: value'"
            )));
        };
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|e| usage(format!("invalid --header name {:?}: {e}", name.trim())))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|e| usage(format!("invalid --header value {:?}: {e}", value.trim())))?;
        headers.append(name, value);
    }
    if !args.protocols.is_empty() {
        if let Some(bad) = args.protocols.iter().find(|p| !is_token(p)) {
            return Err(usage(format!(
                "invalid --protocol {bad:?}: not an HTTP token"
            )));
        }
        let offer = HeaderValue::from_str(&args.protocols.join(", "))
            .map_err(|e| usage(format!("invalid --protocol: {e}")))?;
        headers.append(SEC_WEBSOCKET_PROTOCOL, offer);
    }
    Ok((request, addr))
}

/// Whether `s` is an HTTP token (RFC 9110 §5.6.2), as subprotocol names must be.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Turns a connect error into a message and an exit code.
fn connect_failure(url: &str, addr: &str, error: Error) -> Failure {
    match error {
        Error::ClientHandshake(ClientError::Rejected { response }) => {
            let mut message = format!(
                "{addr} refused the WebSocket upgrade: HTTP {}",
                response.status()
            );
            let body = String::from_utf8_lossy(response.body());
            let body = body.trim_end();
            if !body.is_empty() {
                let _ = write!(message, "\n{body}");
            }
            Failure::new(Exit::Handshake, message)
        }
        Error::ClientHandshake(
            e @ (ClientError::InvalidUri(_)
            | ClientError::UnsupportedScheme(_)
            | ClientError::MissingHost
            | ClientError::InvalidHeader(_)),
        ) => Failure::new(Exit::Usage, format!("invalid request for {url:?}: {e}")),
        Error::ClientHandshake(e) => Failure::new(
            Exit::Handshake,
            format!("WebSocket handshake with {addr} failed: {}", chain(&e)),
        ),
        Error::Url(e) => Failure::new(Exit::Usage, format!("invalid URL {url:?}: {e}")),
        Error::Tls {
            server,
            reason,
            source,
        } => Failure::new(Exit::Tls, tls_failure(&server, &reason, source.as_ref())),
        Error::Proxy(e @ ProxyError::InvalidUrl { .. }) => {
            Failure::new(Exit::Usage, format!("invalid proxy setting: {e}"))
        }
        Error::Proxy(ProxyError::Tls { proxy, source }) => {
            let cause = chain(&source);
            Failure::new(
                Exit::Tls,
                format!("TLS handshake with the proxy {proxy} failed: {cause}"),
            )
        }
        Error::Proxy(e) => Failure::new(
            Exit::Network,
            format!("cannot reach {addr} through the proxy: {}", chain(&e)),
        ),
        Error::HandshakeTimeout => Failure::new(
            Exit::Network,
            format!("the WebSocket handshake with {addr} timed out"),
        ),
        e @ (Error::Connect { .. } | Error::ProxyTimeout { .. }) => {
            Failure::new(Exit::Network, chain(&e))
        }
        e => Failure::new(
            Exit::Network,
            format!("connecting to {addr} failed: {}", chain(&e)),
        ),
    }
}

/// A TLS failure in the command line's terms: which option fixes it.
fn tls_failure(
    server: &str,
    reason: &TlsFailure,
    source: &(dyn std::error::Error + 'static),
) -> String {
    let what = match reason {
        TlsFailure::UnknownIssuer => {
            "the server's certificate is not signed by a trusted authority: pass its CA with \
             --cacert CA.pem (or SSL_CERT_FILE), or use --insecure to skip the check (testing \
             only)"
                .to_string()
        }
        TlsFailure::NameMismatch | TlsFailure::Expired | TlsFailure::NotValidYet => {
            format!("{reason} (use --insecure to skip the check, for testing only)")
        }
        other => other.to_string(),
    };
    format!(
        "TLS handshake with {server} failed: {what} ({})",
        chain(source)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn connect_args(extra: &[&str]) -> ConnectArgs {
        let mut argv = vec!["wsx", "connect"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Connect(args) => args,
            other => panic!("not connect: {other:?}"),
        }
    }

    #[test]
    fn request_carries_headers_and_protocols() {
        let args = connect_args(&[
            "ws://example.com:8080/chat?x=1",
            "--header",
            "X-Token: abc",
            "-H",
            "Cookie:a=b",
            "--protocol",
            "chat",
            "--protocol",
            "superchat",
        ]);
        let (request, addr) = build_request(&args).unwrap();
        assert_eq!(addr, "example.com:8080");
        assert_eq!(request.headers()["x-token"], "abc");
        assert_eq!(request.headers()["cookie"], "a=b");
        assert_eq!(request.headers()[SEC_WEBSOCKET_PROTOCOL], "chat, superchat");
    }

    #[test]
    fn bad_urls_and_headers_are_usage_errors() {
        for extra in [
            &["http://example.com/"][..],
            &["not a url"],
            &["ws:///path"],
            &["ws://example.com", "--header", "no colon"],
            &["ws://example.com", "--header", "bad name: x"],
            &["ws://example.com", "--protocol", "a,b"],
        ] {
            let failure = build_request(&connect_args(extra)).unwrap_err();
            assert_eq!(failure.exit, Exit::Usage, "{extra:?}: {}", failure.message);
        }
        let (_, addr) = build_request(&connect_args(&["wss://[::1]/"])).unwrap();
        assert_eq!(addr, "[::1]:443");
    }
}
