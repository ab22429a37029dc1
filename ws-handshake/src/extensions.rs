//! `Sec-WebSocket-Extensions` lists (RFC 6455 §9.1): parsing and formatting.

use std::fmt;

/// One extension of a `Sec-WebSocket-Extensions` list: a name and its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Parameters in order: name and optional value (quotes removed).
    pub params: Vec<(String, Option<String>)>,
}

impl Extension {
    /// An extension without parameters.
    pub fn new(name: impl Into<String>) -> Self {
        Extension {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter.
    pub fn param(mut self, name: impl Into<String>, value: Option<String>) -> Self {
        self.params.push((name.into(), value));
        self
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            match value {
                Some(v) => write!(f, "; {name}={v}")?,
                None => write!(f, "; {name}")?,
            }
        }
        Ok(())
    }
}

/// A `Sec-WebSocket-Extensions` value that does not follow the RFC 6455 §9.1 grammar.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed Sec-WebSocket-Extensions: {0}")]
pub struct ExtensionParseError(pub String);

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lexer<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t') {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn token(&mut self) -> Result<String, ExtensionParseError> {
        self.skip_ws();
        let start = self.i;
        while self.i < self.s.len() && is_tchar(self.s[self.i]) {
            self.i += 1;
        }
        if start == self.i {
            return Err(ExtensionParseError(format!(
                "expected a token at byte {start}"
            )));
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn quoted(&mut self) -> Result<String, ExtensionParseError> {
        self.i += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            match self.s.get(self.i) {
                None => return Err(ExtensionParseError("unterminated quoted string".into())),
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    let c = *self
                        .s
                        .get(self.i + 1)
                        .ok_or_else(|| ExtensionParseError("dangling escape".into()))?;
                    out.push(c);
                    self.i += 2;
                }
                Some(&c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        // RFC 6455 §9.1: the unescaped value must itself be a token.
        if out.is_empty() || !out.iter().all(|&c| is_tchar(c)) {
            return Err(ExtensionParseError("quoted value is not a token".into()));
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

/// Parses the values of every `Sec-WebSocket-Extensions` header line, in order.
pub fn parse_extensions<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<Extension>, ExtensionParseError> {
    let mut out = Vec::new();
    for value in values {
        let mut lx = Lexer { s: value, i: 0 };
        loop {
            // Empty list elements (", ,") are allowed by the list rule.
            while lx.peek() == Some(b',') {
                lx.i += 1;
            }
            if lx.peek().is_none() {
                break;
            }
            let mut ext = Extension::new(lx.token()?);
            loop {
                match lx.peek() {
                    Some(b';') => {
                        lx.i += 1;
                        let name = lx.token()?;
                        let value = if lx.peek() == Some(b'=') {
                            lx.i += 1;
                            Some(match lx.peek() {
                                Some(b'"') => lx.quoted()?,
                                _ => lx.token()?,
                            })
                        } else {
                            None
                        };
                        ext.params.push((name, value));
                    }
                    Some(b',') | None => break,
                    Some(c) => {
                        return Err(ExtensionParseError(format!(
                            "unexpected {:?} at byte {}",
                            c as char, lx.i
                        )))
                    }
                }
            }
            out.push(ext);
        }
    }
    Ok(out)
}

/// Formats extensions as one `Sec-WebSocket-Extensions` value.
pub fn format_extensions(extensions: &[Extension]) -> String {
    extensions
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<Extension>, ExtensionParseError> {
        parse_extensions([s.as_bytes()])
    }

    #[test]
    fn parses_offers_with_params() {
        let got = parse(
            "permessage-deflate; client_max_window_bits; server_max_window_bits=\"10\", permessage-deflate",
        )
        .unwrap();
        assert_eq!(
            got,
            [
                Extension::new("permessage-deflate")
                    .param("client_max_window_bits", None)
                    .param("server_max_window_bits", Some("10".into())),
                Extension::new("permessage-deflate"),
            ]
        );
        assert_eq!(
            format_extensions(&got),
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate"
        );
    }

    #[test]
    fn merges_lines_and_skips_empty_elements() {
        let got = parse_extensions([&b"foo, ,"[..], b"bar;x=1"]).unwrap();
        assert_eq!(
            got,
            [
                Extension::new("foo"),
                Extension::new("bar").param("x", Some("1".into()))
            ]
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "foo;",
            "foo; =1",
            "foo; x=\"a b\"",
            "foo; x=\"unterminated",
            "fo o",
            "foo; x=1 y",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
