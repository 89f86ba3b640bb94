//! Typed requests: each endpoint reads its message into a serde struct of
//! its own, from the JSON body of a POST or PATCH or from the
//! query string of a GET, with MLflow's leniency (int64 as a number or a
//! string, as protobuf's JSON allows: [`Int`]; NaN and infinities as the
//! strings the Python client writes: [`Num`]) and an error naming the
//! field for anything else.
//!
//! Every field of a message is optional, as in MLflow's proto2 messages:
//! a handler says which it needs ([`required`]), so that a missing one
//! gets MLflow's "Missing value for required parameter" message.

use std::cell::OnceCell;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::api::error::ApiError;
use crate::api::request::{kind, missing, within, Fields};
use crate::tracking::ViewType;

/// A request's message as it came, not yet read: a query string or a body
/// (so that a large body is parsed on a blocking thread, not the runtime's).
#[derive(Debug)]
pub enum Raw {
    /// A GET's or HEAD's query string.
    Query(String),
    /// Any other request's body, and room for its copy with bare
    /// non-finite numbers quoted ([`read_json`]).
    Body(Vec<u8>, OnceCell<Vec<u8>>),
}

impl Raw {
    /// The message it holds.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        match self {
            Raw::Query(query) => from_query(query),
            Raw::Body(body, quoted) => read_json(body, quoted),
        }
    }

    /// The message it holds, its strings borrowed from the body where they
    /// need no unescaping (a query string's are always copied).
    pub fn parse_borrowed<'a, T: Deserialize<'a>>(&'a self) -> Result<T, ApiError> {
        match self {
            Raw::Query(query) => {
                let value = Fields::from_query(query)?.into_value();
                serde_path_to_error::deserialize(value).map_err(|e| field_error(&e))
            }
            Raw::Body(body, quoted) => read_json(body, quoted),
        }
    }
}

/// A message from a JSON body: an object (an empty body is an empty
/// object). Read in one pass; only a body that does not read is read again,
/// tracking where it failed, for an error that names the field.
pub fn from_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    let first = body.iter().position(|b| !b.is_ascii_whitespace());
    let body: &'a [u8] = match first {
        None => b"{}",
        Some(i) if body[i] == b'{' => body,
        Some(_) => {
            return Err(match serde_json::from_slice::<Value>(body) {
                Ok(other) => ApiError::bad_request(format!(
                    "the request body must be a JSON object, not {}",
                    kind(&other)
                )),
                Err(e) => not_json(&e),
            })
        }
    };
    if let Ok(message) = serde_json::from_slice(body) {
        return Ok(message);
    }
    let mut reader = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut reader) {
        Ok(message) => reader.end().map(|()| message).map_err(|e| not_json(&e)),
        Err(e) if e.inner().is_syntax() || e.inner().is_eof() => Err(not_json(e.inner())),
        Err(e) => Err(field_error(&e)),
    }
}

/// A message from a JSON body ([`from_json`]), bare non-finite numbers
/// included: Python's `json` writes them as `NaN`, `Infinity`,
/// `-Infinity`, and MLflow's server reads them. A body that does not read
/// is read again with them quoted, into `quoted` (only such a body pays
/// for the copy).
pub fn read_json<'a, T: Deserialize<'a>>(
    body: &'a [u8],
    quoted: &'a OnceCell<Vec<u8>>,
) -> Result<T, ApiError> {
    match from_json(body) {
        Err(e) if e.code == "BAD_REQUEST" => match quote_non_finite(body) {
            Some(q) => from_json(quoted.get_or_init(|| q)),
            None => Err(e),
        },
        other => other,
    }
}

/// The body with each bare `NaN`, `Infinity` and `-Infinity` outside a
/// string quoted (`"NaN"`, which [`Num`] reads); `None` when it has none.
fn quote_non_finite(body: &[u8]) -> Option<Vec<u8>> {
    const TOKENS: [&[u8]; 3] = [b"-Infinity", b"Infinity", b"NaN"];
    let mut out = Vec::with_capacity(body.len() + 16);
    let (mut in_string, mut escaped, mut found) = (false, false, false);
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            out.push(b);
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
        } else if let Some(token) = TOKENS.iter().find(|t| body[i..].starts_with(t)) {
            out.push(b'"');
            out.extend_from_slice(token);
            out.push(b'"');
            i += token.len();
            found = true;
            continue;
        }
        out.push(b);
        i += 1;
    }
    found.then_some(out)
}

/// A message from a query string: each value a string, a name given twice
/// a list (see [`Fields::from_query`]).
pub fn from_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let fields = Fields::from_query(query)?;
    serde_path_to_error::deserialize(fields.into_value()).map_err(|e| field_error(&e))
}

fn not_json(e: &serde_json::Error) -> ApiError {
    ApiError::bad_request(format!("the request body is not valid JSON: {e}"))
}

/// `Invalid value for parameter 'x' supplied: ...`, prefixed with the list
/// item it is in (`in metrics[1]: ...`).
fn field_error(e: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = e.path().iter().collect();
    let (field, outer) = match segments.split_last() {
        Some((Segment::Map { key }, outer)) => (key.clone(), outer),
        _ => (String::new(), &segments[..]),
    };
    let mut place = String::new();
    for segment in outer {
        match segment {
            Segment::Seq { index } => place.push_str(&format!("[{index}]")),
            Segment::Map { key } if place.is_empty() => place.push_str(key),
            Segment::Map { key } => place.push_str(&format!(".{key}")),
            _ => {}
        }
    }
    // serde_json's own message, without where in the text it was.
    let text = e.inner().to_string();
    let text = match text.rfind(" at line ") {
        Some(at) => &text[..at],
        None => &text,
    };
    // A required field of a list item (`runs/log-batch`'s points): MLflow's
    // message, naming it.
    let absent = text
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'));
    let message = if let Some(name) = absent {
        // MLflow names the field by its whole path: `metrics[0].timestamp`.
        let mut path = place.clone();
        if !field.is_empty() {
            path.push_str(&format!(".{field}"));
        }
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(name);
        return missing(&path);
    } else if field.is_empty() {
        format!("Invalid request: {text}")
    } else {
        format!("Invalid value for parameter '{field}' supplied: {text}")
    };
    ApiError::invalid(if place.is_empty() {
        message
    } else {
        format!("in {place}: {message}")
    })
}

/// A required field: its value, or MLflow's message naming it.
pub fn required<'a, T>(name: &str, value: &'a Option<T>) -> Result<&'a T, ApiError> {
    value.as_ref().ok_or_else(|| missing(name))
}

/// A required string field (see [`required`]); an empty string is
/// missing, as MLflow's server reads protobuf's JSON.
pub fn required_str<'a>(name: &str, value: &'a Option<String>) -> Result<&'a str, ApiError> {
    match value.as_deref() {
        Some("") | None => Err(missing(name)),
        Some(s) => Ok(s),
    }
}

/// An int64: a JSON integer or a string of one, as protobuf's JSON allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int(pub i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Int, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Int;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an int64")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                i64::try_from(v)
                    .map(Int)
                    .map_err(|_| E::custom(format!("{v} is out of the range of an int64")))
            }
            /// A whole number written as a double (`1.0`, `1e3`), as
            /// MLflow's server (protobuf's JSON reader) takes it.
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Int, E> {
                if v.fract() == 0.0 && v >= -(2f64.powi(63)) && v < 2f64.powi(63) {
                    Ok(Int(v as i64))
                } else {
                    Err(E::custom(format!("{v} is not an int64")))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Int, E> {
                v.trim()
                    .parse()
                    .map(Int)
                    .map_err(|_| E::custom(format!("{v:?} is not an int64")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A double: a JSON number, or a string of one or of `"NaN"`,
/// `"Infinity"`, `"-Infinity"` (how MLflow's clients send non-finite
/// values).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Num(pub f64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a double")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                crate::api::request::number_text(v)
                    .map(Num)
                    .ok_or_else(|| E::custom(format!("{v:?} is not a double")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list of strings; from a query string, one value is a list of one.
/// Use as `#[serde(default, deserialize_with = "strings")]`.
pub fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    })
}

/// `{"key": ..., "value": ...}`: a tag or a param.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct KeyValue {
    /// The key (required).
    pub key: Option<String>,
    /// The value (absent: empty).
    pub value: Option<String>,
}

/// A list of tags or params as `(key, value)`, each key required.
pub fn key_values(name: &str, items: Vec<KeyValue>) -> Result<Vec<(String, String)>, ApiError> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item.key {
            Some(key) => Ok((key, item.value.unwrap_or_default())),
            None => Err(within(name, i, missing("key"))),
        })
        .collect()
}

/// A view type by MLflow's name (`ACTIVE_ONLY`, `DELETED_ONLY`, `ALL`;
/// absent: active only).
pub fn view_type(name: &str, value: Option<&str>) -> Result<ViewType, ApiError> {
    Ok(match value {
        None | Some("ACTIVE_ONLY") => ViewType::ActiveOnly,
        Some("DELETED_ONLY") => ViewType::DeletedOnly,
        Some("ALL") => ViewType::All,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Invalid value \"{other}\" for parameter '{name}' supplied: expected \
                 ACTIVE_ONLY, DELETED_ONLY or ALL"
            )))
        }
    })
}

/// `start_step` and `end_step`: both (in order) or neither, with MLflow's
/// messages for `get-history-bulk-interval`.
pub fn step_range(
    start: Option<Int>,
    end: Option<Int>,
) -> Result<Option<std::ops::RangeInclusive<i64>>, ApiError> {
    match (start, end) {
        (Some(Int(a)), Some(Int(b))) if a > b => Err(ApiError::invalid(format!(
            "end_step must be greater than start_step. Found start_step={a} and end_step={b}."
        ))),
        (Some(Int(a)), Some(Int(b))) => Ok(Some(a..=b)),
        (None, None) => Ok(None),
        _ => Err(ApiError::invalid(
            "If either start step or end step are specified, both must be specified.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Point {
        key: Option<String>,
        value: Option<Num>,
        step: Option<Int>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Batch {
        run_id: Option<String>,
        metrics: Vec<Point>,
        #[serde(deserialize_with = "strings")]
        ids: Vec<String>,
    }

    #[test]
    fn messages_read_mlflows_leniency_and_name_what_is_wrong() {
        let b: Batch = from_json(
            br#"{"run_id": "r", "metrics": [{"key": "a", "value": "NaN", "step": "12"}]}"#,
        )
        .unwrap();
        assert_eq!(b.metrics[0].step, Some(Int(12)));
        assert!(b.metrics[0].value.unwrap().0.is_nan());
        let e = from_json::<Batch>(br#"{"metrics": [{"key": "a"}, {"value": [1]}]}"#).unwrap_err();
        assert!(
            e.message.starts_with("in metrics[1]: ") && e.message.contains("'value'"),
            "{e:?}"
        );
        let e = from_json::<Batch>(br#"{"run_id": 5}"#).unwrap_err();
        assert_eq!(e.code, "INVALID_PARAMETER_VALUE");
        assert!(e.message.contains("'run_id'"), "{e:?}");
        let e = from_json::<Batch>(br#"{"metrics": [{"step": 1.5}]}"#).unwrap_err();
        assert!(e.message.contains("'step'"), "{e:?}");
        assert_eq!(from_json::<Batch>(b"{").unwrap_err().code, "BAD_REQUEST");
        assert_eq!(from_json::<Batch>(b"[1]").unwrap_err().code, "BAD_REQUEST");
        assert_eq!(from_json::<Batch>(b"{} x").unwrap_err().code, "BAD_REQUEST");
        assert!(from_json::<Batch>(b"  ").unwrap().run_id.is_none());
        // Bare non-finite numbers, as Python writes them; not in strings.
        let quoted = OnceCell::new();
        let b: Batch = read_json(
            br#"{"run_id": "NaN \" Infinity", "metrics": [{"value": NaN}, {"value": -Infinity}, {"value": Infinity, "step": 2.0}]}"#,
            &quoted,
        )
        .unwrap();
        assert_eq!(b.run_id.as_deref(), Some("NaN \" Infinity"));
        assert!(b.metrics[0].value.unwrap().0.is_nan());
        assert_eq!(b.metrics[1].value.unwrap().0, f64::NEG_INFINITY);
        assert_eq!(b.metrics[2].value.unwrap().0, f64::INFINITY);
        assert_eq!(
            b.metrics[2].step,
            Some(Int(2)),
            "a whole double is an int64"
        );
        let e = from_json::<Batch>(br#"{"metrics": [{"key": "a"}, {"step": 1e3}, {}]}"#);
        assert_eq!(e.unwrap().metrics[1].step, Some(Int(1000)));
        let q: Batch = from_query("ids=a&run_id=r").unwrap();
        assert_eq!(q.ids, ["a"]);
        let q: Batch = from_query("ids=a&ids=b").unwrap();
        assert_eq!(q.ids, ["a", "b"]);
        let e = required_str("key", &q.run_id).unwrap_err();
        assert!(e.message.contains("'key'"), "{e:?}");
    }
}
