//! A refused configuration: every problem found, each naming its field, rule and value.

use std::fmt;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    field: String,
    message: String,
}

impl Problem {
    /// Dotted path of the offending field, e.g. `environments.green.weight`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The rule that was broken and the value that broke it (never a secret).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        one_line(f, &self.field)?;
        f.write_str(": ")?;
        one_line(f, &self.message)
    }
}

/// A field path or message may quote a key as written (`models.a\nb`); control characters are
/// escaped so that a refusal stays one log line.
fn one_line(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    if !text.chars().any(char::is_control) {
        return f.write_str(text);
    }
    for c in text.chars() {
        if c.is_control() {
            write!(f, "{}", c.escape_debug())?;
        } else {
            write!(f, "{c}")?;
        }
    }
    Ok(())
}

/// Why a configuration was refused: at least one problem, in document order. Displayed as
/// one line (the host logs it as is):
/// `invalid configuration: <field>: <message>` for one problem,
/// `invalid configuration: N problems: <field>: <message>; <field>: <message>` for several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Never empty.
    problems: Vec<Problem>,
}

impl ConfigError {
    /// A one-problem error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            problems: vec![Problem {
                field: field.into(),
                message: message.into(),
            }],
        }
    }

    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid configuration: ")?;
        if let [one] = self.problems.as_slice() {
            return write!(f, "{one}");
        }
        write!(f, "{} problems: ", self.problems.len())?;
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The problems validation finds, collected so that one pass reports all of them.
#[derive(Debug, Default)]
pub struct Problems(Vec<Problem>);

impl Problems {
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            field: field.into(),
            message: message.into(),
        });
    }

    /// The value of a check, or `None` with its problem recorded.
    pub fn check<T>(&mut self, checked: Result<T, ConfigError>) -> Option<T> {
        match checked {
            Ok(value) => Some(value),
            Err(err) => {
                self.0.extend(err.problems);
                None
            }
        }
    }

    /// `value` when nothing was wrong. Every check that yields `None` records a problem, so a
    /// missing value without one is a gap in the rules, reported rather than accepted.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, ConfigError> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ if !self.0.is_empty() => Err(ConfigError { problems: self.0 }),
            _ => Err(ConfigError::new(
                "configuration",
                "refused without a reason (please report this)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_problem_reads_as_one_field_and_rule() {
        let err = ConfigError::new("active", "must be \"blue\" or \"green\" (got \"red\")");
        assert_eq!(
            err.to_string(),
            "invalid configuration: active: must be \"blue\" or \"green\" (got \"red\")"
        );
        assert_eq!(err.problems().len(), 1);
        assert_eq!(err.problems()[0].field(), "active");
    }

    #[test]
    fn several_problems_share_one_line_in_order() {
        let mut problems = Problems::default();
        problems.push("a", "first");
        assert_eq!(
            problems.check::<u8>(Err(ConfigError::new("b", "second"))),
            None
        );
        assert_eq!(problems.check(Ok(7)), Some(7));
        let err = problems.finish(Some(())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: 2 problems: a: first; b: second"
        );
        let fields: Vec<&str> = err.problems().iter().map(Problem::field).collect();
        assert_eq!(fields, ["a", "b"]);
    }

    #[test]
    fn a_refusal_is_one_line() {
        let err = ConfigError::new("models.a\nb", "unknown field `x\ry`");
        assert_eq!(
            err.to_string(),
            "invalid configuration: models.a\\nb: unknown field `x\\ry`"
        );
    }

    #[test]
    fn nothing_wrong_gives_the_value() {
        assert_eq!(Problems::default().finish(Some(3)), Ok(3));
        let err = Problems::default().finish::<u8>(None).unwrap_err();
        assert_eq!(err.problems()[0].field(), "configuration");
    }
}
