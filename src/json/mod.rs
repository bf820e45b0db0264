//! A strict RFC 8259 JSON reader for the filter's inputs: the plugin configuration, request
//! bodies and answers. Hand-written so the wasm carries no serde; it borrows from the input,
//! checks every byte it passes over, and returns arrays and objects unread (`Raw`) so a caller
//! reads only the members it needs (`Members`) and skips the rest without allocating.
//!
//! Never panics: every byte is read with `get`, nesting is bounded and skipped without recursion.

mod cursor;
mod error;
mod string;
mod value;

pub use crate::config::number::{scaled, unsigned, Scaled, FRAC_ONE};
pub use error::Error;
pub use string::JsonStr;
pub use value::{Elements, Members, Raw, Value};

use cursor::Cursor;

/// Deepest nesting of arrays and objects accepted: serde_json's limit, so every request body
/// that passed before still passes.
pub const MAX_DEPTH: u32 = 128;

/// Reads a whole document holding one value (whitespace around it allowed), checking all of it.
pub fn parse(doc: &[u8]) -> Result<Value<'_>, Error> {
    let mut cursor = Cursor::new(doc, 0, doc.len());
    let value = cursor.value(0)?;
    cursor.end_of_document()?;
    Ok(value)
}

/// The members of the object that is the whole document, read as they come: a body is checked
/// in one pass. The last item is an `Err` if anything (trailing data included) is not JSON, so
/// a caller must read to the end.
pub fn members(doc: &[u8]) -> Members<'_> {
    Members::new(Cursor::new(doc, 0, doc.len()))
}

#[cfg(test)]
mod tests;
