//! The server's decision on an upgrade request, shared by the byte handshake
//! ([`server_handshake`](crate::server_handshake)) and by servers whose HTTP library already
//! parsed the request (hyper, axum): the application's callback first, then permessage-deflate
//! from the server settings, then the codec the stream is built with.

use crate::config::ServerConfig;
use crate::config::StreamConfig;
use crate::deflate::{server_deflate, Codec};
use crate::error::Error;
use crate::stream::WebSocketStream;
use crate::transport::Transport;
use http::{Request, Response};
use ws_handshake::{
    deflate_negotiate, offered_extensions, Callback, Negotiated, Refusal, PERMESSAGE_DEFLATE,
};
use ws_proto::Role;

/// What an accepted upgrade settled on (subprotocol, extensions), ready to turn the upgraded
/// connection into a [`WebSocketStream`].
#[derive(Debug)]
pub struct Accepted {
    negotiated: Negotiated,
    deflate: Option<Codec>,
    stream: StreamConfig,
}

impl Accepted {
    /// The subprotocol and extensions of the 101 response.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// The WebSocket stream over the connection the 101 response was sent on, with `leftover`
    /// bytes the HTTP server read past the request (frames the client sent early).
    ///
    /// Fails with [`Error::ReassembleOff`] if the server's stream settings turn message
    /// reassembly off.
    pub fn into_stream<T: Transport>(
        self,
        io: T,
        leftover: &[u8],
    ) -> Result<WebSocketStream<T>, Error> {
        let mut ws = WebSocketStream::from_transport(io, Role::Server, &self.stream, leftover)?;
        if let Some(codec) = self.deflate {
            ws.set_extension(codec);
        }
        Ok(ws)
    }
}

/// Validates an upgrade request an HTTP library parsed (RFC 6455 §4.2.1), asks `callback`, and
/// negotiates permessage-deflate under `config`: `Ok` with the 101 response head to send and
/// the [`Accepted`] upgrade, or the [`Refusal`] with the response to send instead (400, 426
/// with `Sec-WebSocket-Version: 13`, the callback's rejection, ...).
pub fn accept_request<B, C: Callback>(
    request: &Request<B>,
    callback: C,
    config: &ServerConfig,
) -> Result<(Response<()>, Accepted), Refusal> {
    ws_handshake::validate_request(request)?;
    accept_validated(&ws_handshake::request_head(request), callback, config)
}

/// [`accept_request`] for a request already validated (by `ws_handshake::parse_request`).
pub(crate) fn accept_validated<C: Callback>(
    request: &Request<()>,
    callback: C,
    config: &ServerConfig,
) -> Result<(Response<()>, Accepted), Refusal> {
    // The application decides first; permessage-deflate is then negotiated from the server
    // settings unless the application accepted it itself. The negotiation's agreement goes
    // to the codec as it is.
    let mut agreed = None;
    let decide = |request: &Request<()>| {
        let accept = callback.on_request(request)?;
        Ok(match &config.deflate {
            Some(options) if !accept.has_extension(PERMESSAGE_DEFLATE) => {
                match deflate_negotiate(options, &offered_extensions(request)) {
                    Some((element, agreement)) => {
                        agreed = Some(agreement);
                        accept.extension(element)
                    }
                    None => accept,
                }
            }
            _ => accept,
        })
    };
    let (response, negotiated) = ws_handshake::respond_head(request, decide)?;
    let deflate = server_deflate(agreed, &negotiated.extensions, config);
    Ok((
        response,
        Accepted {
            negotiated,
            deflate,
            stream: config.stream.clone(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ws_handshake::{Accept, Extension, NoCallback};

    /// A valid upgrade request offering `offer`.
    fn request(offer: &str) -> Request<()> {
        let head = format!(
            "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: {offer}\r\n\r\n"
        );
        let config = ws_handshake::ServerConfig::default();
        let (request, _) = ws_handshake::parse_request(head.as_bytes(), &config)
            .unwrap()
            .expect("a whole request");
        request
    }

    /// The codec's settings, as its `Debug` shows them.
    fn codec(accepted: &Accepted) -> String {
        format!("{:?}", accepted.deflate.as_ref().expect("a codec"))
    }

    /// The server's codec for the default parameters changed by `set`, as `Debug` shows it.
    fn expected(set: impl FnOnce(&mut ws_proto::DeflateConfig)) -> String {
        let mut config = ws_proto::DeflateConfig::default();
        set(&mut config);
        format!(
            "{:?}",
            ws_proto::PerMessageDeflate::new(Role::Server, &config)
        )
    }

    #[test]
    fn the_codec_runs_what_the_negotiation_agreed_not_what_the_response_says() {
        // The server's own choice to have the client reset its context is in the agreement
        // handed to the codec, as the response says; a client's hint alone is not acted on
        // (see `deflate_negotiate`).
        let mut options = ws_handshake::DeflateOptions::default();
        options.client_no_context_takeover = true;
        let config = ServerConfig::default().deflate(Some(options));
        let (response, accepted) =
            accept_request(&request("permessage-deflate"), NoCallback, &config).unwrap();
        assert_eq!(
            response.headers()["sec-websocket-extensions"],
            "permessage-deflate; client_no_context_takeover"
        );
        assert_eq!(
            codec(&accepted),
            expected(|c| c.client_no_context_takeover = true)
        );
        let offer = "permessage-deflate; client_no_context_takeover";
        let (_, hinted) =
            accept_request(&request(offer), NoCallback, &ServerConfig::default()).unwrap();
        assert_eq!(codec(&hinted), expected(|_| {}));
    }

    #[test]
    fn an_element_the_callback_accepted_itself_sets_the_codec() {
        let element = Extension::new(PERMESSAGE_DEFLATE).param("server_no_context_takeover", None);
        let callback = |_: &Request<()>| Ok(Accept::new().extension(element));
        let (_, accepted) = accept_request(
            &request("permessage-deflate"),
            callback,
            &ServerConfig::default(),
        )
        .unwrap();
        assert_eq!(
            codec(&accepted),
            expected(|c| c.server_no_context_takeover = true)
        );
    }
}
