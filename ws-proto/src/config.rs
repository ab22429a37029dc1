//! Limits and behaviour switches of the protocol core.

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
    /// Bytes of queued output above which [`Connection::is_write_buffer_full`]
    /// (crate::Connection::is_write_buffer_full) says to stop queueing (backpressure). Control
    /// replies are queued regardless. Default 128 KiB.
    pub write_buffer_limit: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            auto_pong: true,
            reassemble: true,
            write_buffer_limit: 128 << 10,
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
}
