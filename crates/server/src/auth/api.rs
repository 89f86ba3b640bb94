//! MLflow's auth REST endpoints (`mlflow.server.get_app_client("basic-auth",
//! uri)` calls them): users, experiment and registered-model permissions,
//! plus runlog's API tokens.
//!
//! | endpoint | who may call it |
//! | --- | --- |
//! | `users/create`, `users/update-admin`, `users/delete` | admins |
//! | `users/get`, `users/update-password` | admins, and the user itself (its own password: with `current_password`) |
//! | `users/current` | any user, for itself |
//! | `users/list` | admins |
//! | `users/permissions/{grant,revoke}` (MLflow 3.17, under `/api/3.0`) | admins, and users with MANAGE on the resource |
//! | `users/permissions/get` | admins, users with MANAGE on the resource, and the user itself |
//! | `experiments/permissions/*` | admins, and users with MANAGE on the experiment |
//! | `registered-models/permissions/*` | admins, and users with MANAGE on the model |
//! | `runlog/tokens/create`, `runlog/tokens/delete` | any user, for itself |

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::auth::store::{AuthStore, Resource, User};
use crate::auth::{Auth, Permission};
use runlog::api::error::ApiError;
use runlog::api::request::Fields;

/// Whether `rest` (what follows `2.0/mlflow/` or `2.0/runlog/`) is one of
/// these endpoints.
pub(crate) fn is_auth_endpoint(rest: &str) -> bool {
    rest.starts_with("users/")
        || rest.starts_with("experiments/permissions/")
        || rest.starts_with("registered-models/permissions/")
        || rest.starts_with("tokens/")
}

/// Answers one of these endpoints for `user`.
pub(crate) fn handle(
    auth: &Auth,
    user: &User,
    method: &Method,
    rest: &str,
    f: &Fields,
) -> Result<Value, ApiError> {
    let store = &auth.store;
    let want = |m: Method| takes(method, m, rest);
    let admin = || -> Result<(), ApiError> {
        if user.is_admin {
            Ok(())
        } else {
            Err(forbidden())
        }
    };
    let self_or_admin = |name: &str| -> Result<(), ApiError> {
        if user.is_admin || user.username == name {
            Ok(())
        } else {
            Err(forbidden())
        }
    };
    match rest {
        "users/create" => {
            want(Method::POST)?;
            admin()?;
            let created = store.create_user(f.string("username")?, f.string("password")?, false)?;
            Ok(json!({"user": store.user_json(&created)?}))
        }
        "users/get" => {
            want(Method::GET)?;
            let name = f.string("username")?;
            self_or_admin(name)?;
            Ok(json!({"user": store.user_json(&store.existing_user(name)?)?}))
        }
        "users/current" => {
            want(Method::GET)?;
            Ok(json!({"user": store.user_json(user)?}))
        }
        "users/list" => {
            want(Method::GET)?;
            admin()?;
            let users = store
                .users()?
                .iter()
                .map(|u| store.user_json(u))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(json!({"users": users}))
        }
        "users/update-password" => {
            want(Method::PATCH)?;
            let name = f.string("username")?;
            self_or_admin(name)?;
            let password = f.string("password")?;
            if name == user.username {
                // Changing one's own password takes the current one, as in
                // MLflow 3.17: a borrowed session cannot lock its owner out.
                let current = f.opt_string("current_password")?.ok_or_else(|| {
                    ApiError::invalid(
                        "Current password is required when changing your own password.",
                    )
                })?;
                if !AuthStore::password_matches(user, current) {
                    return Err(ApiError::invalid("Current password does not match."));
                }
                if password == current {
                    return Err(ApiError::invalid(
                        "New password must differ from the current password.",
                    ));
                }
            }
            store.set_password(name, password)?;
            auth.forget_credentials();
            Ok(json!({}))
        }
        "users/update-admin" => {
            want(Method::PATCH)?;
            admin()?;
            let is_admin = match f.get("is_admin") {
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
                _ => return Err(runlog::api::request::missing("is_admin")),
            };
            store.set_admin(f.string("username")?, is_admin)?;
            auth.forget_credentials();
            Ok(json!({}))
        }
        "users/delete" => {
            want(Method::DELETE)?;
            admin()?;
            store.delete_user(f.string("username")?)?;
            auth.forget_credentials();
            Ok(json!({}))
        }
        "tokens/create" => {
            want(Method::POST)?;
            let description = f.opt_string("description")?.unwrap_or("");
            Ok(json!({"token": store.create_token(user.id, description)?}))
        }
        "tokens/delete" => {
            want(Method::POST)?;
            if !store.delete_token(user.id, f.string("token")?)? {
                return Err(ApiError::not_found("no such token of this user"));
            }
            auth.forget_credentials();
            Ok(json!({}))
        }
        "users/permissions/grant" | "users/permissions/revoke" | "users/permissions/get" => {
            user_permission(auth, user, method, rest, f)
        }
        _ => permissions(auth, user, method, rest, f),
    }
}

/// MLflow 3.17's one set of per-user permission endpoints
/// (`/api/3.0/mlflow/users/permissions/{grant,revoke,get}`), for an
/// experiment or a registered model named by `resource_type` and
/// `resource_id`.
fn user_permission(
    auth: &Auth,
    user: &User,
    method: &Method,
    rest: &str,
    f: &Fields,
) -> Result<Value, ApiError> {
    let action = rest.trim_start_matches("users/permissions/");
    let want = if action == "get" {
        Method::GET
    } else {
        Method::POST
    };
    takes(method, want, rest)?;
    let resource = match f.string("resource_type")? {
        "experiment" => Resource::Experiment,
        "registered_model" => Resource::RegisteredModel,
        other => {
            return Err(ApiError::invalid(format!(
                "Unsupported resource_type '{other}': this server keeps permissions on                  'experiment' and 'registered_model'"
            )))
        }
    };
    let key = f.string("resource_id")?;
    let target = auth.store.existing_user(f.string("username")?)?;
    let manages = user.is_admin || auth.permission_of(user, resource, key)?.can_manage();
    match action {
        "get" => {
            if !manages && user.username != target.username {
                return Err(forbidden());
            }
            let p = auth.permission_of(&target, resource, key)?;
            Ok(json!({"allowed": p.can_use(), "permission": p.name()}))
        }
        "grant" => {
            if !manages {
                return Err(forbidden());
            }
            let name = f.string("permission")?;
            // A grant names what is allowed, or DENY: NO_PERMISSIONS is the
            // absence of a grant (MLflow 3.17 refuses it here too).
            let p = Permission::parse(name)
                .filter(|p| *p != Permission::NoPermissions)
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "Invalid permission '{name}' for resource_type='{}'. Resource-level \
                         grants accept only: ('DENY', 'EDIT', 'MANAGE', 'READ', 'USE').",
                        f.opt_string("resource_type").ok().flatten().unwrap_or("")
                    ))
                })?;
            auth.store.grant(resource, key, target.id, p, true)?;
            Ok(json!({}))
        }
        _ => {
            if !manages {
                return Err(forbidden());
            }
            auth.store.revoke(resource, key, target.id)?;
            Ok(json!({}))
        }
    }
}

/// MLflow's answer to a permission name it does not have.
fn invalid_permission(name: &str) -> ApiError {
    ApiError::invalid(format!(
        "Invalid permission '{name}'. Valid permissions are: ('READ', 'USE', 'EDIT', 'MANAGE', \
         'NO_PERMISSIONS', 'DENY')"
    ))
}

/// `experiments/permissions/*` and `registered-models/permissions/*`.
fn permissions(
    auth: &Auth,
    user: &User,
    method: &Method,
    rest: &str,
    f: &Fields,
) -> Result<Value, ApiError> {
    let (resource, action, key_field, answer_field) =
        if let Some(action) = rest.strip_prefix("experiments/permissions/") {
            (
                Resource::Experiment,
                action,
                "experiment_id",
                "experiment_permission",
            )
        } else if let Some(action) = rest.strip_prefix("registered-models/permissions/") {
            (
                Resource::RegisteredModel,
                action,
                "name",
                "registered_model_permission",
            )
        } else {
            return Err(ApiError::no_endpoint(method.as_str(), rest));
        };
    let want = match action {
        "create" => Method::POST,
        "get" => Method::GET,
        "update" => Method::PATCH,
        "delete" => Method::DELETE,
        _ => return Err(ApiError::no_endpoint(method.as_str(), rest)),
    };
    takes(method, want, rest)?;
    let key = f.string(key_field)?;
    if !user.is_admin && !auth.permission_of(user, resource, key)?.can_manage() {
        return Err(forbidden());
    }
    let target = auth.store.existing_user(f.string("username")?)?;
    let permission = || -> Result<Permission, ApiError> {
        let name = f.string("permission")?;
        Permission::parse(name).ok_or_else(|| invalid_permission(name))
    };
    match action {
        "create" => {
            let p = permission()?;
            auth.store.grant(resource, key, target.id, p, true)?;
            Ok(json!({answer_field: AuthStore::permission_json(resource, key, target.id, p)}))
        }
        "get" => {
            let p = auth
                .store
                .permission(resource, key, target.id)?
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "Permission of user {} on {key} not found",
                        target.username
                    ))
                })?;
            Ok(json!({answer_field: AuthStore::permission_json(resource, key, target.id, p)}))
        }
        "update" => {
            auth.store
                .grant(resource, key, target.id, permission()?, false)?;
            Ok(json!({}))
        }
        _ => {
            auth.store.revoke(resource, key, target.id)?;
            Ok(json!({}))
        }
    }
}

/// An endpoint that takes `want` (HEAD where it takes GET), or MLflow's
/// 405 naming it.
fn takes(method: &Method, want: Method, rest: &str) -> Result<(), ApiError> {
    if *method == want || (want == Method::GET && *method == Method::HEAD) {
        Ok(())
    } else {
        Err(ApiError::wrong_method(method.as_str(), rest, want.as_str()))
    }
}

/// MLflow's 403.
pub(crate) fn forbidden() -> ApiError {
    ApiError {
        status: StatusCode::FORBIDDEN.as_u16(),
        code: "PERMISSION_DENIED",
        message: "Permission denied".into(),
    }
}
