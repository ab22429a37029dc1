//! Every wrapping error of the stack (ws-proto, ws-handshake, ws-driver and its reconnecting
//! client, the tokio hyper upgrade) says its own thing and leaves its cause to `source()`: an
//! error-chain printer shows each cause once.

use std::error::Error as StdError;
use std::io;
use tests::errors::assert_each_cause_once;
use ws_driver::reconnect::ReconnectError;
use ws_driver::ws_handshake::{
    ClientError, DeflateError, ExtensionParseError, ProxyError, Refusal, ServerError,
};
use ws_driver::ws_proto::{ProtocolError, SendError};
use ws_driver::{http, Error, Message, TlsFailure};

fn rejected() -> ClientError {
    let mut response = http::Response::new(b"go away".to_vec());
    *response.status_mut() = http::StatusCode::FORBIDDEN;
    ClientError::Rejected {
        response: Box::new(response),
    }
}

fn connect_refused() -> Error {
    Error::Connect {
        addr: "127.0.0.1:9".into(),
        proxy: false,
        source: io::Error::from(io::ErrorKind::ConnectionRefused),
    }
}

/// One of each wrapping shape, with a cause that has a message of its own.
fn representative_errors() -> Vec<Box<dyn StdError + Send + Sync>> {
    let tls_cause = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
    vec![
        Box::new(Error::Io(io::Error::other("the cable was cut"))),
        Box::new(connect_refused()),
        Box::new(Error::Connect {
            addr: "[::1]:3128".into(),
            proxy: true,
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        }),
        Box::new(Error::Tls {
            server: "example.com:443".into(),
            reason: TlsFailure::UnknownIssuer,
            source: Box::new(tls_cause),
        }),
        Box::new(Error::RootCertificates {
            origin: "ca.pem".into(),
            source: Box::new(io::Error::from(io::ErrorKind::NotFound)),
        }),
        Box::new(Error::Protocol(ProtocolError::FrameTooLarge {
            size: 20,
            max: 10,
        })),
        Box::new(Error::Send(SendError::CloseReasonTooLong(200))),
        Box::new(Error::ClientHandshake(rejected())),
        Box::new(Error::ClientHandshake(ClientError::InvalidDeflate(
            DeflateError("server_max_window_bits=99".into()),
        ))),
        Box::new(Error::ClientHandshake(ClientError::InvalidExtensions(
            ExtensionParseError("a;;b".into()),
        ))),
        Box::new(Error::ServerHandshake(ServerError::InvalidExtensions(
            ExtensionParseError("a;;b".into()),
        ))),
        Box::new(Error::Proxy(ProxyError::UnexpectedEof {
            proxy: "http://127.0.0.1:3128".into(),
        })),
        Box::new(Refusal::from(ServerError::InvalidExtensions(
            ExtensionParseError("a;;b".into()),
        ))),
        Box::new(ws_tokio::upgrade::Refused::<()> {
            error: ServerError::MissingUpgrade,
            response: Box::new(http::Response::new(())),
        }),
        Box::new(ReconnectError::GaveUp {
            attempts: 3,
            last_error: connect_refused(),
        }),
        Box::new(ReconnectError::Fatal(Error::Io(io::Error::other("boom")))),
        Box::new(ReconnectError::QueueFull(Message::text("x"))),
    ]
}

#[test]
fn no_error_repeats_its_source() {
    for error in representative_errors() {
        let messages = assert_each_cause_once(error.as_ref());
        assert!(
            messages.iter().all(|m| !m.is_empty()),
            "an empty message in {messages:?}"
        );
    }
}

#[test]
fn each_cause_is_shown_once_by_a_chain_printer() {
    let error = ReconnectError::GaveUp {
        attempts: 3,
        last_error: connect_refused(),
    };
    let chain = assert_each_cause_once(&error).join(": ");
    assert!(
        chain.starts_with("gave up after 3 connection attempts: cannot connect to 127.0.0.1:9: "),
        "{chain}"
    );
    assert_eq!(chain.matches("127.0.0.1:9").count(), 1, "{chain}");
}
