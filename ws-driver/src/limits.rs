//! The one way to set each limit and deadline of the protocol core from each settings type.
//!
//! The values live once, in the core's [`ws_proto::Config`] (which a [`StreamConfig`] holds,
//! and a [`ClientConfig`] or [`ServerConfig`] through its stream settings), and each rule (a
//! fragment size of at least 1, ...) lives in the core's setter. Every settings type has the
//! same setters, named as the core's, each calling the core's own:
//! `ServerConfig::default().max_message_size(n).keepalive_interval(None)`.

use crate::config::StreamConfig;
use crate::config::{ClientConfig, ServerConfig};
use std::time::Duration;

/// Replaces `config` with what `set` makes of it: a core setter applied in place.
fn update(config: &mut ws_proto::Config, set: impl FnOnce(ws_proto::Config) -> ws_proto::Config) {
    *config = set(std::mem::take(config));
}

/// Generates the setters for a settings type; `$protocol` reaches its [`ws_proto::Config`]
/// from `self`. Each setter calls the core's setter of the same name.
macro_rules! limit_setters {
    ($ty:ty, |$this:ident| $protocol:expr) => {
        limit_setters!(@each $ty, |$this| $protocol,
            /// Sets the largest message accepted, after decompression
            /// ([`ws_proto::Config::max_message_size`]; default 64 MiB). A larger message fails
            /// the connection with close code 1009.
            max_message_size(bytes: usize),
            /// Sets a frame limit below the message limit
            /// ([`ws_proto::Config::max_frame_size`]; by default frames are bounded only by
            /// `max_message_size`).
            max_frame_size(bytes: usize),
            /// Sets the size above which outgoing messages are split into several frames
            /// ([`ws_proto::Config::fragment_size`]; default 1 MiB).
            fragment_size(bytes: usize),
            /// Sets the queued output above which sending waits for the peer to read, and
            /// reading pauses ([`ws_proto::Config::write_buffer_limit`]; default 128 KiB).
            write_buffer_limit(bytes: usize),
            /// Sets how long the connection may be silent before a keepalive ping
            /// ([`ws_proto::Config::keepalive_interval`]; default 30 s; `None`: no keepalive).
            keepalive_interval(interval: Option<Duration>),
            /// Sets how long the peer has to answer a keepalive ping before the connection
            /// fails ([`ws_proto::Config::keepalive_timeout`]; default 30 s).
            keepalive_timeout(timeout: Duration),
            /// Sets how long the connection may receive nothing before it fails with 1001
            /// ([`ws_proto::Config::idle_timeout`]; default `None`: no limit).
            idle_timeout(timeout: Option<Duration>),
            /// Sets how long the closing handshake may take before the transport is closed
            /// regardless ([`ws_proto::Config::close_timeout`]; default 5 s).
            close_timeout(timeout: Duration),
            /// Sets whether pings are answered automatically
            /// ([`ws_proto::Config::auto_pong`]; default on).
            auto_pong(on: bool),
        );
    };
    (@each $ty:ty, |$this:ident| $protocol:expr,
        $($(#[$doc:meta])* $name:ident($arg:ident: $arg_ty:ty),)*) => {
        impl $ty {
            $(
                $(#[$doc])*
                pub fn $name(mut self, $arg: $arg_ty) -> Self {
                    let $this = &mut self;
                    update(&mut $protocol, |c| c.$name($arg));
                    self
                }
            )*
        }
    };
}

limit_setters!(StreamConfig, |this| this.protocol);
limit_setters!(ClientConfig, |this| this.stream.protocol);
limit_setters!(ServerConfig, |this| this.stream.protocol);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_settings_type_sets_the_cores_values_through_the_cores_rules() {
        let second = Duration::from_secs(1);
        let set = |c: ws_proto::Config| {
            assert_eq!(c.max_message_size, 1000);
            assert_eq!(c.fragment_size, 1, "the core's rule: at least 1");
            assert_eq!(c.keepalive_interval, None);
            assert_eq!(c.keepalive_timeout, second);
            assert_eq!(c.idle_timeout, Some(second));
            assert_eq!(c.close_timeout, second);
            assert!(!c.auto_pong);
        };
        macro_rules! all {
            ($config:expr) => {
                $config
                    .max_message_size(1000)
                    .fragment_size(0)
                    .keepalive_interval(None)
                    .keepalive_timeout(second)
                    .idle_timeout(Some(second))
                    .close_timeout(second)
                    .auto_pong(false)
            };
        }
        set(all!(StreamConfig::default()).protocol);
        set(all!(ClientConfig::default()).stream.protocol);
        set(all!(ServerConfig::default()).stream.protocol);
    }
}
