//! Where a document stops being JSON, and why.

use std::fmt;

/// Boxed so that every `Result` the reader passes around on the happy path stays small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(Box<Position>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Position {
    what: &'static str,
    offset: usize,
    line: usize,
    column: usize,
}

impl Error {
    #[cold]
    pub(super) fn at(doc: &[u8], offset: usize, what: &'static str) -> Error {
        let before = doc.get(..offset).unwrap_or(doc);
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |at| at + 1);
        Error(Box::new(Position {
            what,
            offset,
            line: 1 + before.iter().filter(|&&b| b == b'\n').count(),
            column: 1 + offset - line_start,
        }))
    }

    /// The rule broken, without the position (for messages that quote no input).
    pub fn what(&self) -> &'static str {
        self.0.what
    }

    /// Byte offset in the document.
    pub fn offset(&self) -> usize {
        self.0.offset
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.0.what, self.0.line, self.0.column
        )
    }
}
