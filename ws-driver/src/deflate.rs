//! permessage-deflate (RFC 7692) between the handshake and the protocol core: the client's
//! offer, and the codec each side runs for what the handshake agreed. `ws-handshake` hands
//! over the agreement as the core's [`DeflateConfig`](ws_proto::DeflateConfig); nothing here
//! converts it.

use crate::config::{ClientConfig, ServerConfig};
use crate::error::Error;
use ws_handshake::{
    deflate_accepted, deflate_check_response, deflate_offer, ClientError, ClientHandshake,
    DeflateError, Extension, PERMESSAGE_DEFLATE,
};
use ws_proto::{DeflateConfig, PerMessageDeflate, Role};

/// The codec the protocol core runs for an agreement.
pub(crate) type Codec = Box<PerMessageDeflate>;

fn codec(role: Role, agreed: &DeflateConfig) -> Codec {
    Box::new(PerMessageDeflate::new(role, agreed))
}

/// Adds the permessage-deflate offer of `config` unless the request already makes one.
pub(crate) fn offer_deflate(
    handshake: &mut ClientHandshake,
    config: &ClientConfig,
) -> Result<(), Error> {
    if let Some(options) = &config.deflate {
        if !handshake.offers_extension(PERMESSAGE_DEFLATE) {
            handshake.offer_extension(&deflate_offer(options))?;
        }
    }
    Ok(())
}

/// The client's codec for the extensions a server accepted (101 or 200), if it agreed to
/// permessage-deflate; a response that breaks RFC 7692 fails the handshake.
pub(crate) fn client_deflate(
    extensions: &[Extension],
    config: &ClientConfig,
) -> Result<Option<Codec>, Error> {
    let Some(element) = deflate_element(extensions).map_err(ClientError::from)? else {
        return Ok(None);
    };
    let local = config.deflate.clone().unwrap_or_default();
    let agreed = deflate_check_response(&local, element).map_err(ClientError::from)?;
    Ok(Some(codec(Role::Client, &agreed)))
}

/// The server's codec: what `deflate_negotiate` agreed (`negotiated`), or else, when the
/// application's callback accepted permessage-deflate itself, what its response element says.
pub(crate) fn server_deflate(
    negotiated: Option<DeflateConfig>,
    extensions: &[Extension],
    config: &ServerConfig,
) -> Option<Codec> {
    let agreed = negotiated.or_else(|| {
        let local = config.deflate.clone().unwrap_or_default();
        let element = deflate_element(extensions).ok()??;
        deflate_accepted(&local, element).ok()
    })?;
    Some(codec(Role::Server, &agreed))
}

/// The one permessage-deflate element of a response, if any.
fn deflate_element(extensions: &[Extension]) -> Result<Option<&Extension>, DeflateError> {
    let mut found = extensions.iter().filter(|e| e.name == PERMESSAGE_DEFLATE);
    let first = found.next();
    if found.next().is_some() {
        return Err(DeflateError("permessage-deflate accepted twice".into()));
    }
    Ok(first)
}
