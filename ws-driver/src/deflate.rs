//! permessage-deflate (RFC 7692) between the handshake and the protocol core: the element a
//! response agreed to, and the core's codec for it.

use ws_handshake::{DeflateAgreement, DeflateError, DeflateOptions, Extension, PERMESSAGE_DEFLATE};
use ws_proto::Role;

/// The protocol core's codec for what the handshake agreed on.
pub(crate) fn deflate_codec(
    role: Role,
    agreed: &DeflateAgreement,
    local: &DeflateOptions,
) -> Box<ws_proto::PerMessageDeflate> {
    let mut config = ws_proto::DeflateConfig::default();
    config.server_no_context_takeover = agreed.server_no_context_takeover;
    config.client_no_context_takeover = agreed.client_no_context_takeover;
    config.server_max_window_bits = agreed.server_max_window_bits;
    config.client_max_window_bits = agreed.client_max_window_bits;
    config.level = local.level;
    config.threshold = local.threshold;
    Box::new(ws_proto::PerMessageDeflate::new(role, &config))
}

/// The one permessage-deflate element of a response, if any.
pub(crate) fn deflate_element(
    extensions: &[Extension],
) -> Result<Option<&Extension>, DeflateError> {
    let mut found = extensions.iter().filter(|e| e.name == PERMESSAGE_DEFLATE);
    let first = found.next();
    if found.next().is_some() {
        return Err(DeflateError("permessage-deflate accepted twice".into()));
    }
    Ok(first)
}
