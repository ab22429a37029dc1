//! One-call shortcuts for the protocol core's size limits on every settings type, so that
//! `ServerConfig::default().max_message_size(n)` replaces three nested builders.

use crate::config::StreamConfig;
use crate::config::{ClientConfig, ServerConfig};

/// Generates the limit shortcuts for a settings type; `$protocol` reaches its
/// [`ws_proto::Config`] from `self`.
macro_rules! limit_shortcuts {
    ($ty:ty, |$this:ident| $protocol:expr) => {
        impl $ty {
            /// Sets the largest message accepted (see [`ws_proto::Config::max_message_size`];
            /// default 64 MiB). A larger message fails the connection with close code 1009.
            pub fn max_message_size(mut self, bytes: usize) -> Self {
                let $this = &mut self;
                $protocol.max_message_size = bytes;
                self
            }

            /// Sets a frame limit below the message limit (see
            /// [`ws_proto::Config::max_frame_size`]; by default frames are bounded only by
            /// `max_message_size`).
            pub fn max_frame_size(mut self, bytes: usize) -> Self {
                let $this = &mut self;
                $protocol.max_frame_size = bytes;
                self
            }

            /// Sets the size above which outgoing messages are split into several frames
            /// (see [`ws_proto::Config::fragment_size`]; default 1 MiB).
            pub fn fragment_size(mut self, bytes: usize) -> Self {
                let $this = &mut self;
                $protocol.fragment_size = bytes.max(1);
                self
            }

            /// Sets the queued output above which sending waits for the peer to read, and
            /// reading pauses (see [`ws_proto::Config::write_buffer_limit`]; default 128 KiB).
            pub fn write_buffer_limit(mut self, bytes: usize) -> Self {
                let $this = &mut self;
                $protocol.write_buffer_limit = bytes;
                self
            }
        }
    };
}

limit_shortcuts!(StreamConfig, |this| this.protocol);
limit_shortcuts!(ClientConfig, |this| this.stream.protocol);
limit_shortcuts!(ServerConfig, |this| this.stream.protocol);
