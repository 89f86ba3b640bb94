//! MLflow's filter language: `metrics.loss < 0.5 and params.lr = '0.01'`.
//!
//! A filter is clauses joined by `AND` (any case; there is no `OR`; a
//! stray `AND` before, after or between clauses is ignored, as MLflow
//! ignores it). A clause is `<entity>.<key> <comparator> <value>`: the
//! entity is one of `metrics` (`metric`), `params` (`param`, `parameters`,
//! `parameter`), `tags` (`tag`), `attributes` (`attribute`, `attr`, `run`),
//! `datasets` (`dataset`), written in lower case and optionally in
//! backticks (`` `metrics`.acc ``); a bare name is an attribute. Keys with
//! other characters than letters, digits and `_ . : / -` go in backticks or
//! double quotes. Strings are quoted (`'...'` or `"..."`); as in MLflow,
//! what is between the quotes is taken as written: a doubled quote or a
//! backslash before the quote does not end the string and stays in the
//! value (`'L''Hosp'` is `L''Hosp`). Numbers are decimal, with an optional
//! minus sign, fraction and exponent. Errors name the character position
//! (from 1) and what was expected.

use crate::error::{Error, Result};

/// What an identifier refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entity {
    /// `metrics.<key>`: the latest value of a metric.
    Metric(String),
    /// `params.<key>`.
    Param(String),
    /// `tags.<key>`.
    Tag(String),
    /// `attributes.<name>` (or a bare name).
    Attribute(String),
    /// `datasets.<name|digest|context>`.
    Dataset(String),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `LIKE` (SQL pattern: `%` any run, `_` one character)
    Like,
    /// `ILIKE` (LIKE ignoring case)
    ILike,
    /// `IN (...)`
    In,
    /// `NOT IN (...)`
    NotIn,
    /// `IS NULL` (params and tags: the key is absent)
    IsNull,
    /// `IS NOT NULL` (params and tags: the key is present)
    IsNotNull,
}

impl Comparator {
    /// The comparator as written in a filter.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "!=",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
            Comparator::Like => "LIKE",
            Comparator::ILike => "ILIKE",
            Comparator::In => "IN",
            Comparator::NotIn => "NOT IN",
            Comparator::IsNull => "IS NULL",
            Comparator::IsNotNull => "IS NOT NULL",
        }
    }
}

/// A literal on the right of a comparator.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number.
    Number(f64),
    /// A quoted string.
    Text(String),
    /// A parenthesised list of strings (for `IN`).
    List(Vec<String>),
    /// Nothing (for `IS NULL` and `IS NOT NULL`).
    Null,
}

/// One `<entity> <comparator> <value>` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// What is compared.
    pub entity: Entity,
    /// How.
    pub comparator: Comparator,
    /// With what.
    pub value: Value,
    /// Character position (from 1) where the clause starts.
    pub position: usize,
}

/// Parses a filter into its clauses (an empty or blank filter has none).
/// The clauses are only parsed here; which comparators and values fit which
/// entity is checked by the search that uses them.
pub fn parse_filter(filter: &str) -> Result<Vec<Clause>> {
    let mut p = Parser {
        chars: filter.chars().collect(),
        at: 0,
    };
    let mut clauses = Vec::new();
    p.skip_space();
    if p.at_end() {
        return Ok(clauses);
    }
    p.skip_ands();
    while !p.at_end() {
        clauses.push(p.clause()?);
        p.skip_space();
        if p.at_end() {
            break;
        }
        let position = p.at;
        if !p.skip_ands() {
            let word = p.word();
            return Err(p.error_at(
                position,
                "AND between clauses (MLflow filters have no OR)",
                &word,
            ));
        }
    }
    Ok(clauses)
}

/// One `order_by` item: `<entity>.<key> [ASC|DESC]` (ascending unless
/// `DESC`). As in MLflow, it may not begin or end with white space.
pub fn parse_order_by(item: &str) -> Result<(Entity, bool)> {
    let mut p = Parser {
        chars: item.chars().collect(),
        at: 0,
    };
    if item.starts_with(char::is_whitespace) || item.ends_with(char::is_whitespace) {
        return Err(Error::InvalidFilter {
            position: 1,
            message: format!("order_by '{item}' begins or ends with white space"),
        });
    }
    let entity = p.identifier()?;
    p.skip_space();
    let at = p.at;
    let word = p.word();
    let ascending = match word.to_ascii_uppercase().as_str() {
        "" | "ASC" => true,
        "DESC" => false,
        _ => return Err(p.error_at(at, "ASC or DESC", &word)),
    };
    p.skip_space();
    if !p.at_end() {
        return Err(p.error("the end of the order_by item"));
    }
    Ok((entity, ascending))
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-')
}

impl Parser {
    fn at_end(&self) -> bool {
        self.at >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    /// Skips `AND`s and the space around them; whether there was one.
    fn skip_ands(&mut self) -> bool {
        let mut any = false;
        loop {
            let start = self.at;
            if self.word().eq_ignore_ascii_case("and") {
                any = true;
                self.skip_space();
            } else {
                self.at = start;
                return any;
            }
        }
    }

    /// A run of letters, digits and `_`.
    fn word(&mut self) -> String {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }

    /// What stands at `position`, for error messages.
    fn found_at(&self, position: usize) -> String {
        match self.chars.get(position) {
            None => "the end of the filter".to_owned(),
            Some(_) => {
                let s: String = self.chars[position..].iter().take(12).collect();
                format!("'{s}'")
            }
        }
    }

    fn error(&self, expected: &str) -> Error {
        Error::InvalidFilter {
            position: self.at + 1,
            message: format!("expected {expected}, found {}", self.found_at(self.at)),
        }
    }

    fn error_at(&self, position: usize, expected: &str, found: &str) -> Error {
        let found = if found.is_empty() {
            self.found_at(position)
        } else {
            format!("'{found}'")
        };
        Error::InvalidFilter {
            position: position + 1,
            message: format!("expected {expected}, found {found}"),
        }
    }

    fn clause(&mut self) -> Result<Clause> {
        let position = self.at + 1;
        let entity = self.identifier()?;
        self.skip_space();
        let comparator = self.comparator()?;
        self.skip_space();
        let value = match comparator {
            Comparator::In | Comparator::NotIn => Value::List(self.list()?),
            Comparator::IsNull | Comparator::IsNotNull => Value::Null,
            _ => self.scalar()?,
        };
        Ok(Clause {
            entity,
            comparator,
            value,
            position,
        })
    }

    fn identifier(&mut self) -> Result<Entity> {
        let start = self.at;
        let word = match self.peek() {
            Some('`') => {
                // An entity type in backticks, or a bare attribute name.
                let name = self.quoted_key()?;
                if self.peek() != Some('.') {
                    return Ok(Entity::Attribute(name));
                }
                name
            }
            // A bare attribute name in double quotes.
            Some('"') => return Ok(Entity::Attribute(self.quoted_key()?)),
            _ => self.word(),
        };
        if word.is_empty() {
            return Err(self.error(
                "an identifier such as metrics.loss, params.lr, tags.`mlflow.runName` or \
                 attributes.status",
            ));
        }
        if self.peek() != Some('.') {
            return Ok(Entity::Attribute(word));
        }
        self.at += 1; // the dot
        let key = match self.peek() {
            Some('`' | '"') => self.quoted_key()?,
            _ => {
                let key_start = self.at;
                while self.peek().is_some_and(is_key_char) {
                    self.at += 1;
                }
                if key_start == self.at {
                    return Err(self.error("a key after the dot"));
                }
                self.chars[key_start..self.at].iter().collect()
            }
        };
        // Lower case only, as in MLflow (`METRICS.acc` is refused).
        let entity =
            match word.as_str() {
                "metrics" | "metric" => Entity::Metric(key),
                "params" | "param" | "parameters" | "parameter" => Entity::Param(key),
                "tags" | "tag" => Entity::Tag(key),
                "attributes" | "attribute" | "attr" | "run" => Entity::Attribute(key),
                "datasets" | "dataset" => Entity::Dataset(key),
                _ => return Err(self.error_at(
                    start,
                    "an entity type in lower case: metrics, params, tags, attributes or datasets",
                    &word,
                )),
            };
        Ok(entity)
    }

    /// A key in backticks or double quotes.
    fn quoted_key(&mut self) -> Result<String> {
        let quote = self.peek().unwrap_or('`');
        let text = self.quoted(quote)?;
        if text.is_empty() {
            return Err(Error::InvalidFilter {
                position: self.at,
                message: "a quoted key is empty".into(),
            });
        }
        Ok(text)
    }

    /// A string between `quote`s (the cursor is on the opening one), taken
    /// as written: a doubled quote, or a backslash and the quote, go on
    /// the string and stay in it, as in MLflow (`'L''Hosp'` is `L''Hosp`).
    fn quoted(&mut self, quote: char) -> Result<String> {
        let open = self.at;
        self.at += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(Error::InvalidFilter {
                        position: open + 1,
                        message: format!("the quote {quote} opened here is never closed"),
                    })
                }
                Some(c) if c == quote => {
                    self.at += 1;
                    if self.peek() == Some(quote) {
                        text.push(quote);
                        text.push(quote);
                        self.at += 1;
                    } else {
                        return Ok(text);
                    }
                }
                Some('\\') if self.chars.get(self.at + 1) == Some(&quote) => {
                    text.push('\\');
                    text.push(quote);
                    self.at += 2;
                }
                Some(c) => {
                    text.push(c);
                    self.at += 1;
                }
            }
        }
    }

    fn comparator(&mut self) -> Result<Comparator> {
        let start = self.at;
        let two: String = self.chars[self.at..].iter().take(2).collect();
        if two == "<>" || two == "==" {
            // MLflow refuses them: say which to write instead.
            let instead = if two == "<>" { "!=" } else { "=" };
            return Err(self.error_at(start, &format!("{instead} (MLflow has no {two})"), &two));
        }
        let symbolic = match two.as_str() {
            "!=" => Some((Comparator::Ne, 2)),
            "<=" => Some((Comparator::Le, 2)),
            ">=" => Some((Comparator::Ge, 2)),
            _ => match self.peek() {
                Some('=') => Some((Comparator::Eq, 1)),
                Some('<') => Some((Comparator::Lt, 1)),
                Some('>') => Some((Comparator::Gt, 1)),
                _ => None,
            },
        };
        if let Some((c, len)) = symbolic {
            self.at += len;
            return Ok(c);
        }
        let word = self.word().to_ascii_uppercase();
        let c = match word.as_str() {
            "LIKE" => Comparator::Like,
            "ILIKE" => Comparator::ILike,
            "IN" => Comparator::In,
            "IS" => {
                self.skip_space();
                let next_at = self.at;
                let next = self.word().to_ascii_uppercase();
                match next.as_str() {
                    "NULL" => Comparator::IsNull,
                    "NOT" => {
                        self.skip_space();
                        let last_at = self.at;
                        let last = self.word();
                        if !last.eq_ignore_ascii_case("null") {
                            return Err(self.error_at(last_at, "NULL after IS NOT", &last));
                        }
                        Comparator::IsNotNull
                    }
                    _ => return Err(self.error_at(next_at, "NULL or NOT NULL after IS", &next)),
                }
            }
            "NOT" => {
                self.skip_space();
                let next_at = self.at;
                let next = self.word();
                if !next.eq_ignore_ascii_case("in") {
                    return Err(self.error_at(next_at, "IN after NOT", &next));
                }
                Comparator::NotIn
            }
            _ => {
                return Err(self.error_at(
                    start,
                    "a comparator: =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL or \
                     IS NOT NULL",
                    &word,
                ))
            }
        };
        Ok(c)
    }

    fn scalar(&mut self) -> Result<Value> {
        match self.peek() {
            Some(q @ ('\'' | '"')) => Ok(Value::Text(self.quoted(q)?)),
            Some(c) if c.is_ascii_digit() || matches!(c, '-' | '.') => self.number(),
            _ => Err(self.error("a value: a number, or a string in single quotes")),
        }
    }

    fn number(&mut self) -> Result<Value> {
        let start = self.at;
        if self.peek() == Some('-') {
            self.at += 1;
        }
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        {
            let c = self.peek();
            self.at += 1;
            // An exponent's sign.
            if matches!(c, Some('e' | 'E')) && matches!(self.peek(), Some('-' | '+')) {
                self.at += 1;
            }
        }
        let text: String = self.chars[start..self.at].iter().collect();
        let valid = text.bytes().any(|b| b.is_ascii_digit())
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
        match text.parse::<f64>() {
            Ok(n) if valid => Ok(Value::Number(n)),
            _ => Err(self.error_at(start, "a number", &text)),
        }
    }

    fn list(&mut self) -> Result<Vec<String>> {
        if self.peek() != Some('(') {
            return Err(self.error("'(' opening a list of strings"));
        }
        self.at += 1;
        let mut items = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                Some(q @ ('\'' | '"')) => items.push(self.quoted(q)?),
                _ => return Err(self.error("a string in single quotes")),
            }
            self.skip_space();
            match self.peek() {
                Some(',') => self.at += 1,
                Some(')') => {
                    self.at += 1;
                    return Ok(items);
                }
                _ => return Err(self.error("',' or ')' in the list")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(filter: &str) -> Clause {
        let mut clauses = parse_filter(filter).unwrap();
        assert_eq!(clauses.len(), 1, "{filter}");
        clauses.remove(0)
    }

    #[test]
    fn mlflow_documented_filters_parse() {
        let c = one("metrics.rmse < 0.8");
        assert_eq!(c.entity, Entity::Metric("rmse".into()));
        assert_eq!(
            (c.comparator, c.value),
            (Comparator::Lt, Value::Number(0.8))
        );
        let c = one("params.model = 'CNN'");
        assert_eq!(c.value, Value::Text("CNN".into()));
        let c = one("tags.`mlflow.parentRunId` = 'abc'");
        assert_eq!(c.entity, Entity::Tag("mlflow.parentRunId".into()));
        let c = one("tags.\"my tag\" != \"x\"");
        assert_eq!(c.entity, Entity::Tag("my tag".into()));
        let c = one("attributes.run_name ILIKE '%sweep%'");
        assert_eq!(c.comparator, Comparator::ILike);
        let c = one("attributes.status IN ('FINISHED', 'FAILED')");
        assert_eq!(
            c.value,
            Value::List(vec!["FINISHED".into(), "FAILED".into()])
        );
        let c = one("run.run_id not  in ('a')");
        assert_eq!(c.comparator, Comparator::NotIn);
        let c = one("attributes.start_time >= 1700000000000");
        assert_eq!(c.value, Value::Number(1.7e12));
        let c = one("datasets.context = 'training'");
        assert_eq!(c.entity, Entity::Dataset("context".into()));
        let c = one("metrics.loss != -1.5e-3");
        assert_eq!(
            (c.comparator, c.value),
            (Comparator::Ne, Value::Number(-1.5e-3))
        );
        let c = one("params.lr IS NULL");
        assert_eq!((c.comparator, c.value), (Comparator::IsNull, Value::Null));
        let c = one("tags.`team` is  not null");
        assert_eq!(
            (c.comparator, c.value),
            (Comparator::IsNotNull, Value::Null)
        );
        // MLflow refuses these spellings.
        for refused in ["metrics.loss <> 1", "metrics.loss == 1", "params.a IS 'x'"] {
            assert!(parse_filter(refused).is_err(), "{refused}");
        }
        let err = parse_filter("params.a IS NOT 'x'").unwrap_err().to_string();
        assert!(err.contains("NULL after IS NOT"), "{err}");
        let c = one("name LIKE 'fraud%'");
        assert_eq!(c.entity, Entity::Attribute("name".into()));
        // Taken as written, as MLflow does.
        let c = one("params.note = 'it''s'");
        assert_eq!(c.value, Value::Text("it''s".into()));
        let c = one(r"params.note = 'it\'s'");
        assert_eq!(c.value, Value::Text(r"it\'s".into()));
        let c = one("`metrics`.acc > 0.5");
        assert_eq!(c.entity, Entity::Metric("acc".into()));
        let c = one("`run name` = 'x'");
        assert_eq!(c.entity, Entity::Attribute("run name".into()));
        for refused in ["METRICS.acc > 1", "Params.a = 'x'", "metrics.a > +1"] {
            assert!(parse_filter(refused).is_err(), "{refused}");
        }
        // Stray ANDs, as MLflow ignores them.
        assert_eq!(parse_filter("and metrics.a > 1 AND and").unwrap().len(), 1);
        assert!(parse_filter("AND").unwrap().is_empty());
        let clauses =
            parse_filter("metrics.a > 1 AND params.b = '2' and tags.c LIKE 'x_'").unwrap();
        assert_eq!(clauses.len(), 3);
        assert_eq!(clauses[1].position, 19);
        assert!(parse_filter("   ").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_position_and_what_was_expected() {
        let cases = [
            ("metrics.loss < 0.5 or params.a = '1'", 20, "AND"),
            ("metrics.loss ~ 1", 14, "comparator"),
            ("metric.loss < ", 15, "value"),
            ("bogus.loss < 1", 1, "entity type"),
            ("params.a = 'open", 12, "never closed"),
            ("metrics. < 1", 9, "key"),
            ("params.a IN 'x'", 13, "'('"),
            ("params.a IN ('x' 'y')", 18, "','"),
            ("params.a NOT LIKE 'x'", 14, "IN after NOT"),
            ("metrics.a > 1.2.3", 13, "number"),
            ("metrics.a > 1 metrics.b > 2", 15, "AND"),
            ("< 1", 1, "identifier"),
        ];
        for (filter, position, expected) in cases {
            match parse_filter(filter) {
                Err(Error::InvalidFilter {
                    position: p,
                    message,
                }) => {
                    assert_eq!(p, position, "{filter}: {message}");
                    assert!(message.contains(expected), "{filter}: {message}");
                }
                other => panic!("{filter}: {other:?}"),
            }
        }
    }
}
