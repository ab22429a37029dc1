//! permessage-deflate negotiation (RFC 7692 §5, §7.1): the client's offer, the server's choice
//! among offers, and the checks each side applies to the other's parameters. What both ends
//! agreed on comes out as the protocol core's [`DeflateConfig`], ready for
//! [`PerMessageDeflate::new`](ws_proto::PerMessageDeflate::new).

use crate::extensions::Extension;
use ws_proto::DeflateConfig;

/// The extension token.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// This end's permessage-deflate preferences.
///
/// For a client these form the offer; for a server, how it answers offers. The compression
/// level and threshold are local and never sent: they are copied into the agreed
/// [`DeflateConfig`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateOptions {
    /// Client: ask the server to reset its context after each message. Server: reset ours even
    /// if not asked (saves memory per connection at some ratio).
    pub server_no_context_takeover: bool,
    /// Client: announce we reset our context after each message. Server: ask the client to.
    pub client_no_context_takeover: bool,
    /// Client: ask the server to use at most this LZ77 window (9-15 bits). Server: the largest
    /// window we compress with.
    pub server_max_window_bits: Option<u8>,
    /// Client: the window we compress with (announced; sent without value when `None`). Server:
    /// ask the client to use at most this window (only when the client allows it).
    pub client_max_window_bits: Option<u8>,
    /// Local: compression level, 0-9. Default 1.
    pub level: u32,
    /// Local: data messages shorter than this many bytes are sent uncompressed. Default 64.
    pub threshold: usize,
}

impl Default for DeflateOptions {
    fn default() -> Self {
        DeflateOptions {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: None,
            level: 1,
            threshold: 64,
        }
    }
}

/// What both ends settled on, as the protocol core's settings: the agreed parameters, and this
/// end's local level and threshold. The one place the handshake's result becomes a
/// [`DeflateConfig`].
fn agreed(
    options: &DeflateOptions,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
) -> DeflateConfig {
    let mut config = DeflateConfig::default();
    config.server_no_context_takeover = server_no_context_takeover;
    config.client_no_context_takeover = client_no_context_takeover;
    config.server_max_window_bits = server_max_window_bits;
    config.client_max_window_bits = client_max_window_bits;
    config.level = options.level;
    config.threshold = options.threshold;
    config
}

/// An offer or response with parameters RFC 7692 does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid permessage-deflate parameters: {0}")]
pub struct DeflateError(pub String);

/// The parameters of one permessage-deflate element, checked against RFC 7692 §7.1: known
/// names only, each at most once, flags without values, window sizes 8-15.
#[derive(Default)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// Present, with its value if it had one.
    client_max_window_bits: Option<Option<u8>>,
}

fn window_bits(value: Option<&str>) -> Result<Option<u8>, DeflateError> {
    let Some(v) = value else { return Ok(None) };
    // RFC 7692 §7.1.2: 1*DIGIT without leading zeros, 8 to 15.
    match v.parse::<u8>() {
        Ok(bits @ 8..=15) if !v.starts_with('0') => Ok(Some(bits)),
        _ => Err(DeflateError(format!("window bits {v:?}"))),
    }
}

fn parse(ext: &Extension) -> Result<Params, DeflateError> {
    let mut p = Params::default();
    let mut seen = Vec::new();
    for (name, value) in &ext.params {
        if seen.contains(name) {
            return Err(DeflateError(format!("{name} repeated")));
        }
        seen.push(name.clone());
        let value = value.as_deref();
        match name.as_str() {
            "server_no_context_takeover" | "client_no_context_takeover" if value.is_some() => {
                return Err(DeflateError(format!("{name} takes no value")));
            }
            "server_no_context_takeover" => p.server_no_context_takeover = true,
            "client_no_context_takeover" => p.client_no_context_takeover = true,
            "server_max_window_bits" => {
                p.server_max_window_bits =
                    Some(window_bits(value)?.ok_or_else(|| {
                        DeflateError("server_max_window_bits needs a value".into())
                    })?);
            }
            "client_max_window_bits" => p.client_max_window_bits = Some(window_bits(value)?),
            _ => return Err(DeflateError(format!("unknown parameter {name}"))),
        }
    }
    Ok(p)
}

/// The client's offer for `options`.
pub fn deflate_offer(options: &DeflateOptions) -> Extension {
    let mut ext = Extension::new(PERMESSAGE_DEFLATE);
    if options.server_no_context_takeover {
        ext = ext.param("server_no_context_takeover", None);
    }
    if options.client_no_context_takeover {
        ext = ext.param("client_no_context_takeover", None);
    }
    if let Some(bits) = options.server_max_window_bits {
        ext = ext.param("server_max_window_bits", Some(bits.to_string()));
    }
    // Always allow the server to limit our window: we can honour any size from 9 up.
    ext.param(
        "client_max_window_bits",
        options.client_max_window_bits.map(|b| b.to_string()),
    )
}

/// Client: checks the server's response to our offer (RFC 7692 §7.1) and gives what was
/// agreed, with the local level and threshold of `options`; any violation must fail the
/// connection.
pub fn deflate_check_response(
    options: &DeflateOptions,
    response: &Extension,
) -> Result<DeflateConfig, DeflateError> {
    let p = parse(response)?;
    if let (Some(asked), Some(got)) = (options.server_max_window_bits, p.server_max_window_bits) {
        if got > asked {
            return Err(DeflateError(format!(
                "server_max_window_bits {got} > {asked}"
            )));
        }
    }
    if options.server_max_window_bits.is_some() && p.server_max_window_bits.is_none() {
        return Err(DeflateError(
            "server_max_window_bits missing from the response".into(),
        ));
    }
    let client_bits = match p.client_max_window_bits {
        None => options.client_max_window_bits.unwrap_or(15),
        Some(None) => return Err(DeflateError("client_max_window_bits needs a value".into())),
        // zlib cannot compress raw deflate in a 256-byte window: refuse rather than exceed it.
        Some(Some(8)) => {
            return Err(DeflateError(
                "client_max_window_bits 8 is unsupported".into(),
            ))
        }
        Some(Some(bits)) => bits.min(options.client_max_window_bits.unwrap_or(15)),
    };
    Ok(agreed(
        options,
        p.server_no_context_takeover,
        p.client_no_context_takeover || options.client_no_context_takeover,
        p.server_max_window_bits.unwrap_or(15),
        client_bits,
    ))
}

/// Server: what a permessage-deflate response element agrees to when the application wrote it
/// itself (its [`Callback`](crate::Callback) accepted the extension) instead of
/// [`deflate_negotiate`]: the parameters it names, RFC 7692's defaults for the others, and the
/// local level and threshold of `options`.
pub fn deflate_accepted(
    options: &DeflateOptions,
    element: &Extension,
) -> Result<DeflateConfig, DeflateError> {
    let local = DeflateOptions {
        level: options.level,
        threshold: options.threshold,
        ..DeflateOptions::default()
    };
    deflate_check_response(&local, element)
}

/// Server: picks the first acceptable permessage-deflate offer (RFC 7692 §5.1) and returns the
/// response element and what was agreed, with the local level and threshold of `options`;
/// offers with invalid or unsupported parameters are declined, as the RFC allows.
pub fn deflate_negotiate(
    options: &DeflateOptions,
    offers: &[Extension],
) -> Option<(Extension, DeflateConfig)> {
    offers
        .iter()
        .filter(|o| o.name == PERMESSAGE_DEFLATE)
        .find_map(|offer| accept_offer(options, offer))
}

fn accept_offer(options: &DeflateOptions, offer: &Extension) -> Option<(Extension, DeflateConfig)> {
    let p = parse(offer).ok()?;
    let mut response = Extension::new(PERMESSAGE_DEFLATE);
    let server_no_context_takeover =
        p.server_no_context_takeover || options.server_no_context_takeover;
    if server_no_context_takeover {
        response = response.param("server_no_context_takeover", None);
    }
    let client_no_context_takeover = options.client_no_context_takeover;
    if client_no_context_takeover {
        response = response.param("client_no_context_takeover", None);
    }
    let ours = options.server_max_window_bits.unwrap_or(15).clamp(9, 15);
    let server_bits = match p.server_max_window_bits {
        // zlib cannot compress raw deflate in a 256-byte window: decline such offers.
        Some(8) => return None,
        Some(asked) => asked.min(ours),
        None => ours,
    };
    if p.server_max_window_bits.is_some() || server_bits < 15 {
        response = response.param("server_max_window_bits", Some(server_bits.to_string()));
    }
    let client_bits = match (p.client_max_window_bits, options.client_max_window_bits) {
        (Some(allowed), Some(wanted)) => {
            let bits = wanted.min(allowed.unwrap_or(15));
            response = response.param("client_max_window_bits", Some(bits.to_string()));
            bits
        }
        (Some(Some(announced)), None) => announced,
        _ => 15,
    };
    Some((
        response,
        agreed(
            options,
            server_no_context_takeover,
            // The offer's `client_no_context_takeover` is only a hint (RFC 7692 §7.1.1.2), and
            // some clients (the Autobahn TestSuite's) keep their context when the response does
            // not repeat it: the server resets its inflater only if the response says so.
            // Keeping the context is always safe; resetting it on a hint is not.
            client_no_context_takeover,
            server_bits,
            client_bits,
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extensions::parse_extensions;

    fn ext(s: &str) -> Vec<Extension> {
        parse_extensions([s.as_bytes()]).unwrap()
    }

    #[test]
    fn default_offer_and_plain_acceptance() {
        let offer = deflate_offer(&DeflateOptions::default());
        assert_eq!(
            offer.to_string(),
            "permessage-deflate; client_max_window_bits"
        );
        let (response, agreed) = deflate_negotiate(&DeflateOptions::default(), &[offer]).unwrap();
        assert_eq!(response.to_string(), "permessage-deflate");
        assert_eq!(agreed.server_max_window_bits, 15);
        assert_eq!(
            deflate_check_response(&DeflateOptions::default(), &response),
            Ok(agreed)
        );
    }

    #[test]
    fn server_honours_requested_parameters() {
        let offers = ext("permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits");
        let (response, agreed) = deflate_negotiate(&DeflateOptions::default(), &offers).unwrap();
        assert_eq!(
            response.to_string(),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=9"
        );
        assert!(agreed.server_no_context_takeover);
        assert_eq!(agreed.server_max_window_bits, 9);
    }

    #[test]
    fn a_clients_context_takeover_hint_does_not_make_the_server_reset_its_inflater() {
        // Autobahn's offer: the hint, which its compressor does not follow unless the response
        // repeats it. Resetting on the hint failed every 12.x/13.x case ("invalid distance too
        // far back").
        let offers = ext("permessage-deflate; client_no_context_takeover; client_max_window_bits");
        let (response, agreed) = deflate_negotiate(&DeflateOptions::default(), &offers).unwrap();
        assert_eq!(response.to_string(), "permessage-deflate");
        assert!(!agreed.client_no_context_takeover);
    }

    #[test]
    fn server_falls_back_to_a_later_offer() {
        let offers = ext("permessage-deflate; server_max_window_bits=8, permessage-deflate; bogus, permessage-deflate; server_no_context_takeover");
        let (_, agreed) = deflate_negotiate(&DeflateOptions::default(), &offers).unwrap();
        assert!(agreed.server_no_context_takeover);
        let none = ext("permessage-deflate; server_max_window_bits=16, x-other");
        assert!(deflate_negotiate(&DeflateOptions::default(), &none).is_none());
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        for bad in [
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=16",
            "permessage-deflate; unknown_param",
        ] {
            assert!(
                deflate_negotiate(&DeflateOptions::default(), &ext(bad)).is_none(),
                "{bad}"
            );
            assert!(
                deflate_check_response(&DeflateOptions::default(), &ext(bad)[0]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn client_checks_the_response() {
        let options = DeflateOptions {
            server_max_window_bits: Some(10),
            ..DeflateOptions::default()
        };
        assert!(deflate_check_response(
            &options,
            &ext("permessage-deflate; server_max_window_bits=12")[0]
        )
        .is_err());
        assert!(deflate_check_response(&options, &ext("permessage-deflate")[0]).is_err());
        let agreed = deflate_check_response(&options, &ext("permessage-deflate; server_max_window_bits=9; client_max_window_bits=9; client_no_context_takeover")[0]).unwrap();
        assert_eq!(
            (agreed.server_max_window_bits, agreed.client_max_window_bits),
            (9, 9)
        );
        assert!(agreed.client_no_context_takeover);
        assert!(deflate_check_response(
            &options,
            &ext("permessage-deflate; client_max_window_bits")[0]
        )
        .is_err());
    }

    #[test]
    fn server_may_limit_the_client_window_only_when_allowed() {
        let options = DeflateOptions {
            client_max_window_bits: Some(10),
            ..DeflateOptions::default()
        };
        let (response, agreed) =
            deflate_negotiate(&options, &ext("permessage-deflate; client_max_window_bits"))
                .unwrap();
        assert_eq!(
            response.to_string(),
            "permessage-deflate; client_max_window_bits=10"
        );
        assert_eq!(agreed.client_max_window_bits, 10);
        let (response, _) = deflate_negotiate(&options, &ext("permessage-deflate")).unwrap();
        assert_eq!(response.to_string(), "permessage-deflate");
    }
}
