//! A transport that is either plain or wrapped in TLS, chosen at connect time.

use crate::transport::{Sleep, Transport};
use bytes::BytesMut;
use std::io::{self, IoSlice};
use std::task::{Context, Poll};
use std::time::Duration;

/// A plain (`ws://`) or TLS (`wss://`) transport.
#[derive(Debug)]
pub enum MaybeTls<P, T> {
    /// An unencrypted transport.
    Plain(P),
    /// A TLS transport.
    Tls(T),
}

macro_rules! dispatch {
    ($self:ident, $io:ident => $e:expr) => {
        match $self {
            MaybeTls::Plain($io) => $e,
            MaybeTls::Tls($io) => $e,
        }
    };
}

impl<P: Transport, T: Transport> Transport for MaybeTls<P, T> {
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        dispatch!(self, io => io.poll_read_buf(cx, buf))
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        dispatch!(self, io => io.poll_write_vectored(cx, bufs))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        dispatch!(self, io => io.poll_flush(cx))
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        dispatch!(self, io => io.poll_shutdown(cx))
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        dispatch!(self, io => io.sleep(duration))
    }
}
