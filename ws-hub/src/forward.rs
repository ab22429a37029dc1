//! The glue between a [`Subscriber`] and a connection, shared by every runtime's adapter.

use crate::queue::Next;
use crate::Subscriber;
use ws_driver::{CloseFrame, Error, Transport, WebSocketSink};

/// Most messages queued to the socket before one flush: a burst goes out in few writes.
const BATCH: usize = 64;

/// Sends what `subscriber` receives on `sink` until the connection fails or closes (`Err`), or
/// the subscriber is disconnected for falling behind: then the connection is closed with the
/// policy's code (1008 or 1013) and that close frame is returned.
///
/// Run it in the connection's writing task, with the reading half in another (or joined with
/// it); each message goes out as the shared frame bytes (see
/// [`ws_driver::WebSocketSink::send_prepared`]). Works on every runtime.
pub async fn forward<T: Transport>(
    subscriber: &Subscriber,
    sink: &mut WebSocketSink<T>,
) -> Result<CloseFrame, Error> {
    loop {
        let mut next = Some(subscriber.next().await);
        let mut batch = 0;
        while let Some(item) = next.take() {
            match item {
                Next::Message(message) => sink.feed_prepared(&message).await?,
                Next::Disconnect(frame) => {
                    sink.flush().await?;
                    sink.close(Some(frame.clone())).await?;
                    return Ok(frame);
                }
            }
            batch += 1;
            if batch < BATCH {
                next = subscriber.try_next();
            }
        }
        sink.flush().await?;
    }
}
