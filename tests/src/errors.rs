//! Checks on error values: each level of a `source()` chain says its own thing once.

use std::error::Error;

/// Walks `error`'s `source()` chain and asserts that no level's message contains its source's
/// message (an error-chain printer would show it twice). Returns the messages, outermost
/// first.
pub fn assert_each_cause_once(error: &(dyn Error + 'static)) -> Vec<String> {
    let mut messages = vec![error.to_string()];
    let mut level = error;
    while let Some(source) = level.source() {
        let outer = level.to_string();
        let inner = source.to_string();
        assert!(
            inner.is_empty() || !outer.contains(&inner),
            "{outer:?} repeats its source {inner:?} ({level:?})"
        );
        messages.push(inner);
        level = source;
        assert!(messages.len() < 32, "source chain too long: {messages:?}");
    }
    messages
}
