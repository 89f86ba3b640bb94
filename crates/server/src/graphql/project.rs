//! A REST answer cut to the fields a query selects, as GraphQL types
//! them: camel case, int64s as text, NaN as null, lists the answer leaves
//! out as empty.

use serde_json::{Map, Value};

use super::schema::{self, From, Object, Ty};
use super::{Execution, Set, EXPERIMENT_KEY, VERSIONS_KEY};

impl<'r, 'a: 'r> Execution<'r, 'a> {
    /// `value` (a REST answer's object) cut to the selection, as type `ty`.
    pub(super) fn project(&self, value: &Value, ty: &'static Object, set: &'r Set<'a>) -> Value {
        let mut out = Map::new();
        for f in self.fields(set, ty.name) {
            let key = f.alias.clone().unwrap_or_else(|| f.name.clone());
            if f.name == "__typename" {
                out.insert(key, Value::from(ty.name));
                continue;
            }
            let Some(field) = ty.field(&f.name) else {
                continue; // refused by `check`
            };
            let raw = match field.from {
                From::Key => value.get(schema::snake(field.name)),
                From::RunExperiment => value.get(EXPERIMENT_KEY),
                From::RunModelVersions => value.get(VERSIONS_KEY),
                From::ApiError => None,
            };
            out.insert(key, self.typed(raw, field.ty, &f.selection_set));
        }
        Value::Object(out)
    }

    /// A value of the REST answer as a GraphQL value of type `ty`.
    fn typed(&self, raw: Option<&Value>, ty: Ty, set: &'r Set<'a>) -> Value {
        let raw = raw.filter(|v| !v.is_null());
        match ty {
            Ty::Str | Ty::Enum => match raw {
                Some(Value::String(s)) => Value::from(s.as_str()),
                Some(Value::Number(n)) => Value::from(n.to_string()),
                Some(Value::Bool(b)) => Value::from(b.to_string()),
                _ => Value::Null,
            },
            Ty::Long => match raw {
                Some(Value::Number(n)) => Value::from(n.to_string()),
                Some(Value::String(s)) => Value::from(s.as_str()),
                _ => Value::Null,
            },
            Ty::Float => match raw {
                Some(Value::Number(n)) => n
                    .as_f64()
                    .filter(|x| x.is_finite())
                    .map_or(Value::Null, Value::from),
                _ => Value::Null, // "NaN", "Infinity": no GraphQL Float
            },
            Ty::Bool => match raw {
                Some(Value::Bool(b)) => Value::from(*b),
                _ => Value::Null,
            },
            Ty::StrList => match raw {
                Some(Value::Array(items)) => Value::Array(
                    items
                        .iter()
                        .map(|i| self.typed(Some(i), Ty::Str, set))
                        .collect(),
                ),
                _ => Value::Array(Vec::new()),
            },
            Ty::Obj(inner) => match raw {
                Some(v @ Value::Object(_)) => self.project(v, inner, set),
                _ => Value::Null,
            },
            // A list the REST answer leaves out is empty, as MLflow's
            // messages have it.
            Ty::ObjList(inner) => match raw {
                Some(Value::Array(items)) => {
                    Value::Array(items.iter().map(|i| self.project(i, inner, set)).collect())
                }
                _ => Value::Array(Vec::new()),
            },
        }
    }
}
