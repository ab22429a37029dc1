//! Limits and behaviour switches of the protocol core.

use std::time::Duration;

/// Settings of a [`Connection`](crate::Connection), with safe defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest frame payload accepted, in bytes; larger ones fail with 1009 as soon as their
    /// header arrives. Default 16 MiB.
    pub max_frame_size: usize,
    /// Largest message accepted, in bytes, counted over all its fragments (after decompression
    /// when an extension compresses); a message crossing it fails with 1009 before its payload is
    /// buffered. Applies when `reassemble` is on. Default 64 MiB.
    pub max_message_size: usize,
    /// Answer each ping with a pong carrying the same payload (RFC 6455 §5.5.2). Default on.
    pub auto_pong: bool,
    /// Reassemble fragmented messages. When off, data frames are surfaced one by one as
    /// [`Event::Frame`](crate::Event::Frame) so huge messages can be streamed; UTF-8 of text is
    /// still validated across the fragments. Default on.
    pub reassemble: bool,
    /// Bytes of queued output above which
    /// [`Connection::is_write_buffer_full`](crate::Connection::is_write_buffer_full) says to
    /// stop queueing (backpressure). Control replies are queued regardless. Default 128 KiB.
    pub write_buffer_limit: usize,
    /// Fail the connection with 1001 when nothing at all arrives for this long (a read
    /// timeout). `None` (the default) leaves quiet connections open; keepalive still detects
    /// dead ones.
    pub idle_timeout: Option<Duration>,
    /// Send a ping when nothing arrived for this long, to keep middleboxes from dropping a quiet
    /// connection and to detect a dead peer. `None` turns keepalive off. Default 30 s.
    pub keepalive_interval: Option<Duration>,
    /// After a keepalive ping, the peer must send something (its pong, or anything) within this
    /// long, or the connection is failed and the transport closed. Default 30 s.
    pub keepalive_timeout: Duration,
    /// How long the closing handshake may take once our close frame is queued: waiting for the
    /// peer's close, for the output to drain, or (client) for the server to close TCP
    /// (RFC 6455 §7.1.1). Then the adapter closes the transport regardless. Default 5 s.
    pub close_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            auto_pong: true,
            reassemble: true,
            write_buffer_limit: 128 << 10,
            idle_timeout: None,
            keepalive_interval: Some(Duration::from_secs(30)),
            keepalive_timeout: Duration::from_secs(30),
            close_timeout: Duration::from_secs(5),
        }
    }
}

impl Config {
    /// Sets [`max_frame_size`](Config::max_frame_size).
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// Sets [`max_message_size`](Config::max_message_size).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Sets [`auto_pong`](Config::auto_pong).
    pub fn auto_pong(mut self, on: bool) -> Self {
        self.auto_pong = on;
        self
    }

    /// Sets [`reassemble`](Config::reassemble).
    pub fn reassemble(mut self, on: bool) -> Self {
        self.reassemble = on;
        self
    }

    /// Sets [`write_buffer_limit`](Config::write_buffer_limit).
    pub fn write_buffer_limit(mut self, bytes: usize) -> Self {
        self.write_buffer_limit = bytes;
        self
    }

    /// Sets [`idle_timeout`](Config::idle_timeout).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`keepalive_interval`](Config::keepalive_interval).
    pub fn keepalive_interval(mut self, interval: Option<Duration>) -> Self {
        self.keepalive_interval = interval;
        self
    }

    /// Sets [`keepalive_timeout`](Config::keepalive_timeout).
    pub fn keepalive_timeout(mut self, timeout: Duration) -> Self {
        self.keepalive_timeout = timeout;
        self
    }

    /// Sets [`close_timeout`](Config::close_timeout).
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }
}
