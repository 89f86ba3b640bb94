//! A request's fields as a JSON object, from a JSON body or a query
//! string: what the sign-in layer reads to know which experiment or model
//! a request is about, and what a query string becomes before a typed
//! message ([`crate::api::message`]) reads it. Also the decoding of
//! query strings and paths.

use serde_json::{Map, Value};

use crate::api::error::ApiError;
use crate::tracking::json_number;

/// A request's fields.
#[derive(Debug, Default)]
pub struct Fields(Map<String, Value>);

impl Fields {
    /// A JSON body: an object (an empty body is an empty object).
    pub fn from_body(body: &[u8]) -> Result<Fields, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fields::default());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Fields(map)),
            Ok(other) => Err(ApiError::bad_request(format!(
                "the request body must be a JSON object, not {}",
                kind(&other)
            ))),
            Err(e) => Err(ApiError::bad_request(format!(
                "the request body is not valid JSON: {e}"
            ))),
        }
    }

    /// Fields given by name (the request's fields a check picked out).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, Value)>) -> Fields {
        Fields(pairs.into_iter().collect())
    }

    /// A query string: each value a string; a name given twice, a list.
    pub fn from_query(query: &str) -> Result<Fields, ApiError> {
        let mut map = Map::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = query_decode(name)?;
            let value = Value::from(query_decode(value)?);
            match map.get_mut(&name) {
                None => {
                    map.insert(name, value);
                }
                Some(Value::Array(items)) => items.push(value),
                Some(first) => {
                    let first = first.take();
                    map.insert(name, Value::Array(vec![first, value]));
                }
            }
        }
        Ok(Fields(map))
    }

    /// The fields as a JSON object (for a typed message to read).
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }

    /// A field, if present and not null.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// A required string.
    pub fn string(&self, name: &str) -> Result<&str, ApiError> {
        self.opt_string(name)?.ok_or_else(|| missing(name))
    }

    /// An optional string.
    pub fn opt_string(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(wrong_type(name, other, "a string")),
        }
    }

    /// The run id: `run_id`, else MLflow's older `run_uuid`.
    pub fn run_id(&self) -> Result<&str, ApiError> {
        match self.opt_string("run_id")? {
            Some(id) => Ok(id),
            None => self
                .opt_string("run_uuid")?
                .ok_or_else(|| missing("run_id")),
        }
    }

    /// A list of strings; from a query string, one value is a list of one.
    pub fn strings(&self, name: &str) -> Result<Vec<String>, ApiError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(wrong_type(name, other, "a list of strings")),
                })
                .collect(),
            Some(other) => Err(wrong_type(name, other, "a list of strings")),
        }
    }
}

/// Prefixes an error about a field of a list item with the item's place.
pub fn within(name: &str, i: usize, e: ApiError) -> ApiError {
    within_place(&format!("{name}[{i}]"), e)
}

/// Prefixes an error with where in the message it is (`metrics[3]`).
pub fn within_place(place: &str, e: ApiError) -> ApiError {
    ApiError {
        message: format!("in {place}: {}", e.message),
        ..e
    }
}

/// A double written as text: a non-finite name ([`json_number::from_name`])
/// or a decimal number, as protobuf's JSON allows.
pub fn number_text(text: &str) -> Option<f64> {
    json_number::from_name(text).or_else(|| text.trim().parse().ok())
}

/// MLflow's message for a missing required field.
pub fn missing(name: &str) -> ApiError {
    ApiError::invalid(format!(
        "Missing value for required parameter '{name}'. See the API docs for more information \
         about request parameters."
    ))
}

fn wrong_type(name: &str, value: &Value, expected: &str) -> ApiError {
    let shown = match value {
        Value::String(s) => format!("{s:?}"),
        other => {
            let text = other.to_string();
            text.chars().take(100).collect()
        }
    };
    ApiError::invalid(format!(
        "Invalid value {shown} for parameter '{name}' supplied: expected {expected}, got {}",
        kind(value)
    ))
}

/// What kind of JSON value it is, for a message ("a list", "a number").
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A query string's part decoded: `%XX`, and `+` for a space.
pub fn query_decode(text: &str) -> Result<String, ApiError> {
    decode(text, true)
}

/// A URL path decoded: `%XX` only (a `+` in a path is a plus sign). Bad
/// escapes and bytes that are not UTF-8 are refused.
pub fn percent_decode(text: &str) -> Result<String, ApiError> {
    decode(text, false)
}

fn decode(text: &str, plus_is_space: bool) -> Result<String, ApiError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("bad percent-encoding in {text:?}"))
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| ApiError::bad_request(format!("{text:?} is not UTF-8 once decoded")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_bodies_and_queries_and_name_what_is_wrong() {
        let f = Fields::from_body(
            br#"{"run_uuid": "ab", "step": "12", "value": "NaN", "t": 5, "x": [1]}"#,
        )
        .unwrap();
        assert_eq!(f.run_id().unwrap(), "ab");
        let e = f.opt_string("x").unwrap_err();
        assert!(
            e.message.contains("'x'") && e.message.contains("string"),
            "{e:?}"
        );
        let e = f.string("key").unwrap_err();
        assert!(e.message.contains("'key'"), "{e:?}");
        assert_eq!(Fields::from_body(b"").unwrap().0.len(), 0);
        assert_eq!(Fields::from_body(b"[1]").unwrap_err().code, "BAD_REQUEST");
        assert_eq!(Fields::from_body(b"{").unwrap_err().code, "BAD_REQUEST");
        let q = Fields::from_query("run_ids=a&run_ids=b&metric_key=loss%20x&n=%zz").unwrap_err();
        assert_eq!(q.code, "BAD_REQUEST");
        let q = Fields::from_query("run_ids=a&run_ids=b&metric_key=loss%20x+y").unwrap();
        assert_eq!(q.strings("run_ids").unwrap(), ["a", "b"]);
        assert_eq!(q.string("metric_key").unwrap(), "loss x y");
    }
}
