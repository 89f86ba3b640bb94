//! The `meta.yaml` files of MLflow's file store, as PyYAML's `safe_dump`
//! writes them: top-level `key: value` lines, plain, single- or
//! double-quoted scalars (long ones folded onto indented lines), `null`,
//! `{}` / `[]`, and one level of nested `key: value` mappings. Not a YAML
//! parser: anything else is an error naming the line.

use std::collections::BTreeMap;

/// A value of a `meta.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Yaml {
    /// `null`, `~` or nothing.
    Null,
    /// A scalar (numbers stay text).
    Text(String),
    /// A nested mapping of scalars.
    Map(BTreeMap<String, String>),
}

impl Yaml {
    /// The scalar, `None` for null or a mapping.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Yaml::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// The top-level mapping of a `meta.yaml`, or why it is not one.
pub(crate) fn parse(text: &str) -> Result<BTreeMap<String, Yaml>, String> {
    let mut out = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if line.starts_with(' ') {
            return Err(format!("line {i}: indented where a key was expected"));
        }
        let Some((key, rest)) = line.split_once(':') else {
            return Err(format!("line {i}: no `key: value`"));
        };
        let key = unquote_key(key.trim());
        let mut value = rest.trim().to_owned();
        // Continuation lines: indented, folded into the value with a space.
        let mut continued = Vec::new();
        while i < lines.len() && lines[i].starts_with(' ') {
            continued.push(lines[i].trim());
            i += 1;
        }
        let parsed = if value.is_empty() && !continued.is_empty() {
            let mut map = BTreeMap::new();
            for (j, l) in continued.iter().enumerate() {
                let (k, v) = l.split_once(':').ok_or_else(|| {
                    format!(
                        "line {}: no `key: value` in a mapping",
                        i - continued.len() + j + 1
                    )
                })?;
                map.insert(unquote_key(k.trim()), scalar(v.trim())?.unwrap_or_default());
            }
            Yaml::Map(map)
        } else {
            for c in continued {
                value.push(' ');
                value.push_str(c);
            }
            match value.as_str() {
                "{}" => Yaml::Map(BTreeMap::new()),
                "[]" => Yaml::Null,
                _ => scalar(&value)
                    .map_err(|e| format!("line {i}: {e}"))?
                    .map_or(Yaml::Null, Yaml::Text),
            }
        };
        out.insert(key, parsed);
    }
    Ok(out)
}

fn unquote_key(key: &str) -> String {
    scalar(key).ok().flatten().unwrap_or_else(|| key.to_owned())
}

/// A scalar's text; `None` for null.
fn scalar(v: &str) -> Result<Option<String>, String> {
    if v.is_empty() || v == "null" || v == "~" {
        return Ok(None);
    }
    if let Some(inner) = v.strip_prefix('\'') {
        let inner = inner
            .strip_suffix('\'')
            .ok_or("a single-quoted string without its closing quote")?;
        return Ok(Some(inner.replace("''", "'")));
    }
    if let Some(inner) = v.strip_prefix('"') {
        let inner = inner
            .strip_suffix('"')
            .ok_or("a double-quoted string without its closing quote")?;
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('/') => out.push('/'),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let c = u32::from_str_radix(&hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or("a bad \\u escape")?;
                    out.push(c);
                }
                other => {
                    return Err(format!(
                        "an escape YAML files of MLflow do not use: \\{other:?}"
                    ))
                }
            }
        }
        return Ok(Some(out));
    }
    Ok(Some(v.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_pyyaml_writes() {
        let text = "artifact_uri: /tmp/a b\nend_time: null\nexperiment_id: '83'\nname: 'it''s'\n\
                    schema: '{\"a\": \"[{\\\"t\\\":\n  1}]\"}'\ntags:\n  mlflow.data.context: training\n\
                    empty: {}\nlist: []\nstatus: 3\n";
        let y = parse(text).unwrap();
        assert_eq!(y["artifact_uri"], Yaml::Text("/tmp/a b".into()));
        assert_eq!(y["end_time"], Yaml::Null);
        assert_eq!(y["experiment_id"].text(), Some("83"));
        assert_eq!(y["name"].text(), Some("it's"));
        assert_eq!(y["schema"].text(), Some("{\"a\": \"[{\\\"t\\\": 1}]\"}"));
        let Yaml::Map(tags) = &y["tags"] else {
            panic!("a map")
        };
        assert_eq!(tags["mlflow.data.context"], "training");
        assert_eq!(y["empty"], Yaml::Map(BTreeMap::new()));
        assert_eq!(y["status"].text(), Some("3"));
        assert!(parse("  indented: 1").is_err());
        assert!(parse("name: 'open").is_err());
    }
}
