//! The API's messages and errors on axum: a request's message read from
//! its body (bounded by `--max-request-bytes`) or its query string, as
//! [`runlog::api::message`] then reads it, and an error written as MLflow's
//! answer.

use std::cell::OnceCell;
use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::{read_body, BodyError, State};
use runlog::api::error::ApiError;
use runlog::api::message::Raw;

/// A request's message, read from its body (POST, PATCH, PUT, DELETE) or
/// its query string (GET, HEAD).
#[derive(Debug)]
pub struct Msg<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<State>> for Msg<T> {
    type Rejection = ErrorReply;

    async fn from_request(req: Request, state: &Arc<State>) -> Result<Msg<T>, ErrorReply> {
        let RawMsg(raw) = RawMsg::from_request(req, state).await?;
        Ok(raw.parse().map(Msg)?)
    }
}

/// A request's message as it came, read as [`Msg`] reads it, for the
/// handlers that parse it themselves.
#[derive(Debug)]
pub struct RawMsg(pub Raw);

impl FromRequest<Arc<State>> for RawMsg {
    type Rejection = ErrorReply;

    async fn from_request(req: Request, state: &Arc<State>) -> Result<RawMsg, ErrorReply> {
        let (parts, body) = req.into_parts();
        if parts.method == Method::GET || parts.method == Method::HEAD {
            crate::drain(body).await;
            return Ok(RawMsg(Raw::Query(
                parts.uri.query().unwrap_or("").to_owned(),
            )));
        }
        match read_body(body, state.max_request_bytes).await {
            Ok(bytes) => Ok(RawMsg(Raw::Body(bytes, OnceCell::new()))),
            Err(BodyError::TooLarge) => Err(ErrorReply(ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE.as_u16(),
                code: "BAD_REQUEST",
                message: format!(
                    "the request body is larger than {} bytes (--max-request-bytes)",
                    state.max_request_bytes
                ),
            })),
            Err(BodyError::CutShort) => Err(ErrorReply(ApiError::bad_request(
                "the request body was cut short (the client stopped sending)",
            ))),
        }
    }
}

/// An API error as an HTTP answer: MLflow's `{"error_code", "message"}`
/// with the error's status. (The error is the engine crate's; this crate
/// puts it on axum.)
#[derive(Debug)]
pub struct ErrorReply(pub ApiError);

impl From<ApiError> for ErrorReply {
    fn from(e: ApiError) -> ErrorReply {
        ErrorReply(e)
    }
}

impl From<runlog::Error> for ErrorReply {
    fn from(e: runlog::Error) -> ErrorReply {
        ErrorReply(ApiError::from(e))
    }
}

impl IntoResponse for ErrorReply {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(e.body())).into_response()
    }
}

/// `.into_response()` on an API error, as on any answer.
pub(crate) trait ErrorResponse {
    /// The error as MLflow's answer.
    fn into_response(self) -> Response;
}

impl ErrorResponse for ApiError {
    fn into_response(self) -> Response {
        ErrorReply(self).into_response()
    }
}
