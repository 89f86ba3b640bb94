//! Errors as MLflow's server answers them: an HTTP status and a JSON body
//! `{"error_code": "...", "message": "..."}`.

use serde_json::json;

use crate::error::Error;

/// An error answer: status, MLflow error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status (MLflow's for the error).
    pub status: u16,
    /// MLflow's error code (`INVALID_PARAMETER_VALUE`, ...).
    pub code: &'static str,
    /// What went wrong, naming the offending field.
    pub message: String,
}

impl ApiError {
    /// 400 `INVALID_PARAMETER_VALUE`.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            code: "INVALID_PARAMETER_VALUE",
            message: message.into(),
        }
    }

    /// 400 `BAD_REQUEST` (a body that is not JSON, or not an object).
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            code: "BAD_REQUEST",
            message: message.into(),
        }
    }

    /// 404 `RESOURCE_DOES_NOT_EXIST`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 404,
            code: "RESOURCE_DOES_NOT_EXIST",
            message: message.into(),
        }
    }

    /// 404 `ENDPOINT_NOT_FOUND`: no such endpoint.
    pub fn no_endpoint(method: &str, path: &str) -> ApiError {
        ApiError {
            status: 404,
            code: "ENDPOINT_NOT_FOUND",
            message: format!("no endpoint {method} {path} on this server"),
        }
    }

    /// 405: the endpoint exists, with another method.
    pub fn wrong_method(method: &str, path: &str, allowed: &str) -> ApiError {
        ApiError {
            status: 405,
            code: "BAD_REQUEST",
            message: format!("{path} takes {allowed}, not {method}"),
        }
    }

    /// 501 `NOT_IMPLEMENTED`: a part of MLflow's API runlog does not have.
    pub fn not_implemented(what: &str) -> ApiError {
        ApiError {
            status: 501,
            code: "NOT_IMPLEMENTED",
            message: format!(
                "{what} is not part of runlog, which serves MLflow's tracking API \
                 (experiments, runs, metrics, artifacts, logged models) and its model registry"
            ),
        }
    }

    /// 500 `INTERNAL_ERROR`: the store failed (I/O, damage), not the request.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 500,
            code: "INTERNAL_ERROR",
            message: message.into(),
        }
    }
}

impl From<Error> for ApiError {
    /// MLflow's code for each kind of library error
    /// ([`Error::mlflow_code`]), with MLflow's HTTP status for it.
    fn from(e: Error) -> ApiError {
        // MLflow's message as it is, without the library's kind prefix.
        let message = match &e {
            Error::InvalidArgument(m) => m.clone(),
            other => other.to_string(),
        };
        if out_of_descriptors(&e) {
            // Not the store's fault: too many files open now. A client
            // may try again; nothing is damaged.
            return ApiError {
                status: 503,
                code: "TEMPORARILY_UNAVAILABLE",
                message: format!("the server has too many files open; try again ({message})"),
            };
        }
        if let Error::Refused(r) = &e {
            // A tracking server's refusal, relayed as it answered.
            return ApiError {
                status: r.status,
                code: known_code(&r.error_code),
                message: r.message.clone(),
            };
        }
        match e.mlflow_code().map(known_code) {
            Some(code @ "RESOURCE_DOES_NOT_EXIST") => ApiError {
                status: 404,
                code,
                message,
            },
            Some(code) => ApiError {
                status: 400,
                code,
                message,
            },
            None => ApiError::internal(message),
        }
    }
}

/// MLflow's error codes (its `databricks.proto` `ErrorCode`s that its
/// servers answer); another code is relayed as `INTERNAL_ERROR`.
const MLFLOW_CODES: &[&str] = &[
    "INTERNAL_ERROR",
    "TEMPORARILY_UNAVAILABLE",
    "BAD_REQUEST",
    "INVALID_PARAMETER_VALUE",
    "ENDPOINT_NOT_FOUND",
    "MALFORMED_REQUEST",
    "INVALID_STATE",
    "PERMISSION_DENIED",
    "FEATURE_DISABLED",
    "CUSTOMER_UNAUTHORIZED",
    "REQUEST_LIMIT_EXCEEDED",
    "RESOURCE_ALREADY_EXISTS",
    "RESOURCE_DOES_NOT_EXIST",
    "RESOURCE_EXHAUSTED",
    "RESOURCE_CONFLICT",
    "UNAUTHENTICATED",
    "NOT_IMPLEMENTED",
];

/// `code` as one of [`MLFLOW_CODES`], or `INTERNAL_ERROR`.
fn known_code(code: &str) -> &'static str {
    MLFLOW_CODES
        .iter()
        .find(|known| **known == code)
        .copied()
        .unwrap_or("INTERNAL_ERROR")
}

/// Whether an error is the process or the system running out of file
/// descriptors.
fn out_of_descriptors(e: &Error) -> bool {
    let code = match e {
        Error::Io { source, .. } => source.raw_os_error(),
        Error::Poisoned { source, .. } => source.raw_os_error(),
        _ => return false,
    };
    matches!(code, Some(libc::EMFILE) | Some(libc::ENFILE))
}

impl ApiError {
    /// The answer's body: MLflow's `{"error_code", "message"}`.
    pub fn body(&self) -> serde_json::Value {
        json!({"error_code": self.code, "message": self.message})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Refusal;

    fn refused(status: u16, code: &str) -> Error {
        Error::Refused(Box::new(Refusal {
            url: "http://127.0.0.1:5000/api/2.0/mlflow/runs/get".into(),
            status,
            error_code: code.into(),
            message: "the server's words".into(),
        }))
    }

    #[test]
    fn a_servers_refusal_is_relayed_with_its_status_and_code() {
        let e = ApiError::from(refused(403, "PERMISSION_DENIED"));
        assert_eq!((e.status, e.code), (403, "PERMISSION_DENIED"));
        assert_eq!(e.message, "the server's words");
        let e = ApiError::from(refused(404, "RESOURCE_DOES_NOT_EXIST"));
        assert_eq!((e.status, e.code), (404, "RESOURCE_DOES_NOT_EXIST"));
        // A code MLflow does not have is relayed as INTERNAL_ERROR, with
        // the server's status kept.
        let e = ApiError::from(refused(418, "TEAPOT"));
        assert_eq!((e.status, e.code), (418, "INTERNAL_ERROR"));
    }

    #[test]
    fn a_refusal_reads_as_the_local_error_of_its_code() {
        assert!(refused(404, "RESOURCE_DOES_NOT_EXIST").is_not_found());
        assert!(refused(400, "RESOURCE_ALREADY_EXISTS").is_already_exists());
        assert!(!refused(400, "INVALID_PARAMETER_VALUE").is_not_found());
        assert_eq!(
            refused(400, "BAD_REQUEST").to_string(),
            "http://127.0.0.1:5000/api/2.0/mlflow/runs/get: 400 BAD_REQUEST: the server's words"
        );
    }
}
