//! The fields of a request, from a JSON body or a query string, with
//! MLflow's leniency (int64 as a number or a string, as protobuf's JSON
//! allows; NaN and infinities as the strings the Python client writes) and
//! an error naming the field for anything else.

use serde_json::{Map, Value};

use crate::server::error::ApiError;
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
    pub(crate) fn from_pairs(pairs: impl IntoIterator<Item = (String, Value)>) -> Fields {
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

    /// `start_step` and `end_step`: both (in order) or neither, with
    /// MLflow's messages for `get-history-bulk-interval`.
    pub fn step_range(&self) -> Result<Option<std::ops::RangeInclusive<i64>>, ApiError> {
        match (self.opt_i64("start_step")?, self.opt_i64("end_step")?) {
            (Some(a), Some(b)) if a > b => Err(ApiError::invalid(format!(
                "end_step must be greater than start_step. Found start_step={a} and end_step={b}."
            ))),
            (Some(a), Some(b)) => Ok(Some(a..=b)),
            (None, None) => Ok(None),
            _ => Err(ApiError::invalid(
                "If either start step or end step are specified, both must be specified.",
            )),
        }
    }

    /// An optional int64: a JSON integer or a string of one.
    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| wrong_type(name, &Value::Number(n.clone()), "an int64")),
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| wrong_type(name, &Value::String(s.clone()), "an int64")),
            Some(other) => Err(wrong_type(name, other, "an int64")),
        }
    }

    /// A required double: a JSON number, a string of one, or `"NaN"`,
    /// `"Infinity"`, `"-Infinity"`.
    pub fn f64(&self, name: &str) -> Result<f64, ApiError> {
        let value = self.get(name).ok_or_else(|| missing(name))?;
        number(name, value)
    }

    /// A list (absent is empty).
    pub fn list(&self, name: &str) -> Result<&[Value], ApiError> {
        match self.get(name) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(wrong_type(name, other, "a list")),
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

    /// A list of `{"key": ..., "value": ...}` (MLflow's tags and params).
    pub fn key_values(&self, name: &str) -> Result<Vec<(String, String)>, ApiError> {
        self.list(name)?
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let item = Fields::item(name, i, item)?;
                let key = item.string("key").map_err(|e| within(name, i, e))?;
                let value = item.opt_string("value").map_err(|e| within(name, i, e))?;
                Ok((key.to_owned(), value.unwrap_or_default().to_owned()))
            })
            .collect()
    }

    /// The `i`-th item of list `name`, which must be an object.
    pub fn item(name: &str, i: usize, item: &Value) -> Result<Fields, ApiError> {
        match item {
            Value::Object(map) => Ok(Fields(map.clone())),
            other => Err(wrong_type(&format!("{name}[{i}]"), other, "an object")),
        }
    }
}

/// Prefixes an error about a field of a list item with the item's place.
pub fn within(name: &str, i: usize, e: ApiError) -> ApiError {
    ApiError {
        message: format!("in {name}[{i}]: {}", e.message),
        ..e
    }
}

fn number(name: &str, value: &Value) -> Result<f64, ApiError> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| wrong_type(name, value, "a double")),
        Value::String(s) => number_text(s).ok_or_else(|| wrong_type(name, value, "a double")),
        other => Err(wrong_type(name, other, "a double")),
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

fn kind(value: &Value) -> &'static str {
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
    fn fields_take_mlflows_leniency_and_name_what_is_wrong() {
        let f = Fields::from_body(
            br#"{"run_uuid": "ab", "step": "12", "value": "NaN", "t": 5, "x": [1]}"#,
        )
        .unwrap();
        assert_eq!(f.run_id().unwrap(), "ab");
        assert_eq!(f.opt_i64("step").unwrap(), Some(12));
        assert!(f.f64("value").unwrap().is_nan());
        assert_eq!(f.opt_i64("t").unwrap(), Some(5));
        let e = f.opt_i64("x").unwrap_err();
        assert!(
            e.message.contains("'x'") && e.message.contains("int64"),
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
