//! Sign-in's settings: MLflow's `basic_auth.ini` keys and variables.

use std::path::{Path, PathBuf};

use crate::auth::Permission;
use runlog::{Error, Result};

/// The sign-in settings: MLflow's `basic_auth.ini` keys.
#[derive(Debug, Clone)]
pub struct AuthOptions {
    /// The users database (default `<store>/basic_auth.db`).
    pub database: Option<PathBuf>,
    /// The admin created on first start (default `admin`).
    pub admin_username: String,
    /// Its password, needed to create it on first start (there is no
    /// default, as in MLflow 3.17: at least 12 characters, never the
    /// `password1234` older MLflow versions shipped). Given when the admin
    /// exists and still has that old password, it replaces it.
    pub admin_password: Option<String>,
    /// What a user may do on an experiment nobody granted it anything on.
    pub default_permission: Permission,
}

impl Default for AuthOptions {
    fn default() -> AuthOptions {
        AuthOptions {
            database: None,
            admin_username: "admin".into(),
            admin_password: None,
            default_permission: Permission::Read,
        }
    }
}

impl AuthOptions {
    /// MLflow's defaults, overridden by the `[mlflow]` section of the INI
    /// file `$MLFLOW_AUTH_CONFIG_PATH` names (`default_permission`,
    /// `database_uri` as `sqlite:///path`, `admin_username`,
    /// `admin_password`), then by `$MLFLOW_AUTH_ADMIN_USERNAME` and
    /// `$MLFLOW_AUTH_ADMIN_PASSWORD`.
    pub fn from_env() -> Result<AuthOptions> {
        let mut options = AuthOptions::default();
        if let Some(path) = std::env::var_os("MLFLOW_AUTH_CONFIG_PATH") {
            options.read_config(Path::new(&path))?;
        }
        if let Some(name) = std::env::var("MLFLOW_AUTH_ADMIN_USERNAME")
            .ok()
            .filter(|v| !v.is_empty())
        {
            options.admin_username = name;
        }
        if let Some(password) = std::env::var("MLFLOW_AUTH_ADMIN_PASSWORD")
            .ok()
            .filter(|v| !v.is_empty())
        {
            options.admin_password = Some(password);
        }
        Ok(options)
    }

    /// The `[mlflow]` section of an INI file in MLflow's `basic_auth.ini`
    /// shape.
    fn read_config(&mut self, path: &Path) -> Result<()> {
        let options = self;
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        let mut in_mlflow = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_mlflow = line == "[mlflow]";
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            if !in_mlflow || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let value = value.trim().to_owned();
            match key.trim() {
                "default_permission" => {
                    options.default_permission = Permission::parse(&value).ok_or_else(|| {
                        Error::InvalidArgument(format!(
                            "{}: default_permission {value:?} is not READ, EDIT, MANAGE or \
                             NO_PERMISSIONS",
                            path.display()
                        ))
                    })?;
                }
                "database_uri" => {
                    let file = value.strip_prefix("sqlite:///").ok_or_else(|| {
                        Error::InvalidArgument(format!(
                            "{}: database_uri must be sqlite:///path, not {value:?}",
                            path.display()
                        ))
                    })?;
                    options.database = Some(PathBuf::from(file));
                }
                "admin_username" => options.admin_username = value,
                "admin_password" => options.admin_password = Some(value).filter(|v| !v.is_empty()),
                _ => {}
            }
        }
        Ok(())
    }
}
