//! What a query is checked for before it runs, as MLflow's server checks
//! it: unknown fields and fragments, selections on scalars (or none on
//! objects), and its limits on depth, size, root fields and aliases; and,
//! before it is parsed at all, how deep its brackets nest.

use graphql_parser::query::Selection;

use super::schema::{Object, Ty};
use super::{root_type, Execution, Root, Set};

/// Nesting deeper than this is refused (MLflow's limit).
pub(super) const MAX_DEPTH: usize = 10;
/// More fields than this in one query are refused (MLflow's limit).
const MAX_SELECTIONS: usize = 1000;
/// Root fields in one query (MLflow's default).
const MAX_ROOT_FIELDS: usize = 10;
/// Aliases in one selection set (MLflow's default).
const MAX_ALIASES: usize = 10;
/// Brackets nested deeper than this are refused before parsing, so that a
/// hostile body cannot exhaust the parser's stack.
pub(super) const MAX_NESTING: usize = 64;

impl<'r, 'a: 'r> Execution<'r, 'a> {
    /// Refuses what MLflow's server refuses before running a query:
    /// unknown fields and fragments, selections on scalars (or none on
    /// objects), and queries past its limits.
    pub(super) fn check(&self, root: Root, set: &'r Set<'a>) -> Result<(), String> {
        let mut count = 0;
        let fields = self.fields(set, root.name());
        if fields.len() > MAX_ROOT_FIELDS {
            return Err(format!(
                "GraphQL queries should have at most {MAX_ROOT_FIELDS} root fields, got {} root \
                 fields.",
                fields.len()
            ));
        }
        self.check_aliases(set)?;
        for f in fields {
            count += 1;
            if f.name == "__typename" {
                continue;
            }
            let ty = root_type(root, &f.name).ok_or_else(|| {
                format!("Cannot query field '{}' on type '{}'.", f.name, root.name())
            })?;
            self.check_object(ty, &f.selection_set, 2, &mut count)?;
        }
        self.check_spreads(set, &mut Vec::new())
    }

    fn check_object(
        &self,
        ty: &'static Object,
        set: &'r Set<'a>,
        depth: usize,
        count: &mut usize,
    ) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("Query exceeds maximum depth of {MAX_DEPTH}"));
        }
        let fields = self.fields(set, ty.name);
        if fields.is_empty() && set.items.is_empty() {
            return Err(format!(
                "Field of type '{}' must have a selection of subfields.",
                ty.name
            ));
        }
        self.check_aliases(set)?;
        for f in fields {
            *count += 1;
            if *count > MAX_SELECTIONS {
                return Err(format!(
                    "Query exceeds maximum total selections of {MAX_SELECTIONS}"
                ));
            }
            if f.name == "__typename" {
                continue;
            }
            let field = ty
                .field(&f.name)
                .ok_or_else(|| format!("Cannot query field '{}' on type '{}'.", f.name, ty.name))?;
            match field.ty {
                Ty::Obj(inner) | Ty::ObjList(inner) => {
                    self.check_object(inner, &f.selection_set, depth + 1, count)?
                }
                _ if !f.selection_set.items.is_empty() => {
                    return Err(format!(
                        "Field '{}' must not have a selection since its type has no subfields.",
                        f.name
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn check_aliases(&self, set: &Set<'a>) -> Result<(), String> {
        let aliases = set
            .items
            .iter()
            .filter(|i| matches!(i, Selection::Field(f) if f.alias.is_some()))
            .count();
        if aliases > MAX_ALIASES {
            return Err(format!(
                "GraphQL queries should have at most {MAX_ALIASES} aliases, got {aliases} aliases."
            ));
        }
        Ok(())
    }

    /// Every fragment spread names a fragment of the document.
    fn check_spreads(&self, set: &'r Set<'a>, seen: &mut Vec<&'r str>) -> Result<(), String> {
        for item in &set.items {
            match item {
                Selection::Field(f) => self.check_spreads(&f.selection_set, seen)?,
                Selection::InlineFragment(i) => self.check_spreads(&i.selection_set, seen)?,
                Selection::FragmentSpread(s) => {
                    let name = s.fragment_name.as_str();
                    let Some(f) = self.fragments.get(name) else {
                        return Err(format!("Unknown fragment '{name}'."));
                    };
                    if !seen.contains(&name) {
                        seen.push(name);
                        self.check_spreads(&f.selection_set, seen)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The deepest nesting of brackets outside strings and comments.
pub(super) fn nesting(query: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '[' | '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            '}' | ']' | ')' => depth = depth.saturating_sub(1),
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' || c == '\r' {
                        break;
                    }
                }
            }
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    deepest
}
