//! One JSON value, with arrays and objects left unread until a caller walks their members.

use std::fmt;

use super::cursor::Cursor;
use super::{Error, JsonStr};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    /// The number as written (checked against the JSON grammar); see `scaled` and `unsigned`.
    Number(&'a str),
    String(JsonStr<'a>),
    Array(Raw<'a>),
    Object(Raw<'a>),
}

/// A checked array or object, still as text: `elements` / `members` read it.
#[derive(Clone, Copy)]
pub struct Raw<'a> {
    doc: &'a [u8],
    start: usize,
    end: usize,
}

impl<'a> Raw<'a> {
    pub(super) fn new(doc: &'a [u8], start: usize, end: usize) -> Raw<'a> {
        Raw { doc, start, end }
    }

    /// The array or object as written, brackets included.
    pub fn text(&self) -> &'a [u8] {
        self.doc.get(self.start..self.end).unwrap_or_default()
    }

    /// The members of an object (an `Err` for an array).
    pub fn members(&self) -> Members<'a> {
        Members::new(Cursor::new(self.doc, self.start, self.end))
    }

    /// The elements of an array (an `Err` for an object).
    pub fn elements(&self) -> Elements<'a> {
        Elements(Walk::new(
            Cursor::new(self.doc, self.start, self.end),
            b'[',
            b']',
        ))
    }
}

impl PartialEq for Raw<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

impl fmt::Debug for Raw<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.text()))
    }
}

/// An object's `(key, value)` pairs in document order, duplicates included.
pub struct Members<'a>(Walk<'a>);

impl<'a> Members<'a> {
    pub(super) fn new(cursor: Cursor<'a>) -> Members<'a> {
        Members(Walk::new(cursor, b'{', b'}'))
    }
}

impl<'a> Iterator for Members<'a> {
    type Item = Result<(JsonStr<'a>, Value<'a>), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next(|cursor| {
            let key = cursor.key()?;
            Ok((key, cursor.value(1)?))
        })
    }
}

/// An array's values in order.
pub struct Elements<'a>(Walk<'a>);

impl<'a> Iterator for Elements<'a> {
    type Item = Result<Value<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next(|cursor| cursor.value(1))
    }
}

/// The separators of an array or object read item by item; after an `Err` it ends.
struct Walk<'a> {
    cursor: Cursor<'a>,
    open: u8,
    close: u8,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    BeforeOpen,
    Next,
    Done,
}

impl<'a> Walk<'a> {
    fn new(cursor: Cursor<'a>, open: u8, close: u8) -> Walk<'a> {
        Walk {
            cursor,
            open,
            close,
            state: State::BeforeOpen,
        }
    }

    fn next<T>(
        &mut self,
        item: impl FnOnce(&mut Cursor<'a>) -> Result<T, Error>,
    ) -> Option<Result<T, Error>> {
        let result = self.step(item);
        if !matches!(result, Some(Ok(_))) {
            self.state = State::Done;
        }
        result
    }

    fn step<T>(
        &mut self,
        item: impl FnOnce(&mut Cursor<'a>) -> Result<T, Error>,
    ) -> Option<Result<T, Error>> {
        match self.state {
            State::Done => return None,
            State::BeforeOpen => {
                if !self.cursor.eat(self.open) {
                    let what = if self.open == b'{' {
                        "expected a JSON object"
                    } else {
                        "expected a JSON array"
                    };
                    return Some(Err(self.cursor.error(what)));
                }
                if self.cursor.eat(self.close) {
                    return self.cursor.end_of_document().err().map(Err);
                }
            }
            State::Next => {
                if self.cursor.eat(self.close) {
                    return self.cursor.end_of_document().err().map(Err);
                }
                if !self.cursor.eat(b',') {
                    let what = if self.close == b'}' {
                        "expected `,` or `}`"
                    } else {
                        "expected `,` or `]`"
                    };
                    return Some(Err(self.cursor.error(what)));
                }
            }
        }
        self.state = State::Next;
        Some(item(&mut self.cursor))
    }
}
