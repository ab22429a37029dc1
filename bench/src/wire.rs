//! Hand-written RFC 6455 wire helpers for the neutral load generator and the raw echo server.
//!
//! They deliberately use neither our protocol core nor a peer's, so the tool that drives every
//! server (and the server that answers every client) favours none of the implementations
//! measured.

use base64::Engine as _;
use sha1::{Digest, Sha1};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Opcode of a text frame (RFC 6455 §5.2).
pub const OP_TEXT: u8 = 0x1;
/// Opcode of a binary frame.
pub const OP_BINARY: u8 = 0x2;
/// Opcode of a close frame.
pub const OP_CLOSE: u8 = 0x8;
/// Opcode of a ping frame.
pub const OP_PING: u8 = 0x9;
/// Opcode of a pong frame.
pub const OP_PONG: u8 = 0xA;

/// The GUID of RFC 6455 §1.3, appended to the client's key to derive the accept value.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Largest request or response head the helpers accept.
const MAX_HEAD: usize = 8192;

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2).
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.trim().as_bytes());
    sha.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// FIN bit.
    pub fin: bool,
    /// Any RSV bit set.
    pub rsv: bool,
    /// The 4-bit opcode.
    pub opcode: u8,
    /// The masking key, if the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// Payload length.
    pub len: usize,
    /// Encoded header length.
    pub header_len: usize,
}

/// Decodes the header at the start of `buf`, `None` when it is not complete yet.
pub fn parse_header(buf: &[u8]) -> Option<Header> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (extra, short) = match b1 & 0x7F {
        126 => (2, 0),
        127 => (8, 0),
        n => (0, n as usize),
    };
    let masked = b1 & 0x80 != 0;
    let header_len = 2 + extra + if masked { 4 } else { 0 };
    if buf.len() < header_len {
        return None;
    }
    let len = match extra {
        2 => u16::from_be_bytes([buf[2], buf[3]]) as usize,
        8 => {
            let mut be = [0u8; 8];
            be.copy_from_slice(&buf[2..10]);
            u64::from_be_bytes(be) as usize
        }
        _ => short,
    };
    let mask = masked.then(|| {
        let k = 2 + extra;
        [buf[k], buf[k + 1], buf[k + 2], buf[k + 3]]
    });
    Some(Header {
        fin: b0 & 0x80 != 0,
        rsv: b0 & 0x70 != 0,
        opcode: b0 & 0x0F,
        mask,
        len,
        header_len,
    })
}

/// Appends a frame header with FIN set.
pub fn put_header(out: &mut Vec<u8>, opcode: u8, len: usize, mask: Option<[u8; 4]>) {
    out.push(0x80 | opcode);
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match len {
        0..=125 => out.push(mask_bit | len as u8),
        126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// XORs `buf` with `key` (RFC 6455 §5.3), `buf` starting at offset 0 of the payload.
pub fn xor_mask(buf: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut words = buf.chunks_exact_mut(8);
    for w in &mut words {
        let v = u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) ^ wide;
        w.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in words.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// Appends a complete masked client frame.
pub fn put_client_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], key: [u8; 4]) {
    put_header(out, opcode, payload.len(), Some(key));
    let start = out.len();
    out.extend_from_slice(payload);
    xor_mask(&mut out[start..], key);
}

/// A deterministic masking key for frame `i` (the load generator needs no secrecy).
pub fn key_for(i: usize) -> [u8; 4] {
    let x = (i as u32).wrapping_mul(0x9E37_79B9) ^ 0xA5A5_5A5A;
    x.to_le_bytes()
}

/// A payload of `size` bytes: printable ASCII, so it is valid as text and as binary.
pub fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| b' ' + (i * 7 % 95) as u8).collect()
}

async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> io::Result<Vec<u8>> {
    // Byte by byte so nothing after the head is consumed; a few hundred bytes per connection.
    let mut head = Vec::with_capacity(512);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too long"));
        }
        if stream.read(&mut byte).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    Ok(head)
}

fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Runs the client side of the opening handshake (no extensions offered).
pub async fn client_handshake<S>(stream: &mut S, host: &str) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let head = read_head(stream).await?;
    let head = String::from_utf8_lossy(&head);
    let ok = head.starts_with("HTTP/1.1 101")
        && header_value(&head, "sec-websocket-accept") == Some(accept_key(key).as_str());
    if !ok {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad handshake response: {head}"),
        ));
    }
    Ok(())
}

/// Runs the server side of the opening handshake, accepting any request with a key.
pub async fn server_handshake<S>(stream: &mut S) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let head = read_head(stream).await?;
    let head = String::from_utf8_lossy(&head);
    let key = header_value(&head, "sec-websocket-key")
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no Sec-WebSocket-Key"))?;
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    );
    stream.write_all(response.as_bytes()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_accept_example() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn frames_round_trip() {
        for len in [0usize, 5, 125, 126, 65535, 65536] {
            let data = payload(len);
            let mut out = Vec::new();
            put_client_frame(&mut out, OP_BINARY, &data, [1, 2, 3, 4]);
            let h = parse_header(&out).unwrap();
            assert_eq!((h.opcode, h.len, h.fin), (OP_BINARY, len, true));
            let body = &mut out[h.header_len..];
            xor_mask(body, h.mask.unwrap());
            assert_eq!(body, &data[..]);
        }
    }
}
