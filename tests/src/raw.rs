//! Hand-rolled peers, for cases where a real client or server would not misbehave on purpose:
//! blocking std sockets, bounded by the caller's read timeout.

use std::io::{Read, Write};
use std::net::TcpStream;

/// A valid opening handshake request (the RFC 6455 §1.3 sample key).
pub const UPGRADE_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// Reads an HTTP head up to and including its blank line, a byte at a time so that nothing
/// after it is consumed. `None` if the stream ends or fails first.
pub fn read_head(tcp: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tcp.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(head)
}

/// Plays a server's side of the opening handshake on an accepted socket: reads the client's
/// request head and answers 101 with its accept key (no extension, no subprotocol). Panics if
/// the request does not come or carries no key.
pub fn answer_upgrade(tcp: &mut TcpStream) {
    let head = read_head(tcp).expect("the client's request head");
    let head = String::from_utf8_lossy(&head).to_string();
    let key = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_string())
        })
        .expect("a Sec-WebSocket-Key header");
    let accept = ws_driver::ws_handshake::accept_key(key.as_bytes());
    write!(
        tcp,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    )
    .expect("write the 101 response");
}
