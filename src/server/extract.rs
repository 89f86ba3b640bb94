//! The API's messages and errors on axum: a request's message read from
//! its body (bounded by `--max-request-bytes`) or its query string, as
//! [`crate::api::message`] then reads it, and an error written as MLflow's
//! answer.

use std::cell::OnceCell;
use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::api::error::ApiError;
use crate::api::message::Raw;
use crate::server::{read_body, BodyError, State};

/// A request's message, read from its body (POST, PATCH, PUT, DELETE) or
/// its query string (GET, HEAD).
#[derive(Debug)]
pub struct Msg<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<State>> for Msg<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<State>) -> Result<Msg<T>, ApiError> {
        Raw::from_request(req, state).await?.parse().map(Msg)
    }
}

impl FromRequest<Arc<State>> for Raw {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<State>) -> Result<Raw, ApiError> {
        let (parts, body) = req.into_parts();
        if parts.method == Method::GET || parts.method == Method::HEAD {
            crate::server::drain(body).await;
            return Ok(Raw::Query(parts.uri.query().unwrap_or("").to_owned()));
        }
        match read_body(body, state.max_request_bytes).await {
            Ok(bytes) => Ok(Raw::Body(bytes, OnceCell::new())),
            Err(BodyError::TooLarge) => Err(ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE.as_u16(),
                code: "BAD_REQUEST",
                message: format!(
                    "the request body is larger than {} bytes (--max-request-bytes)",
                    state.max_request_bytes
                ),
            }),
            Err(BodyError::CutShort) => Err(ApiError::bad_request(
                "the request body was cut short (the client stopped sending)",
            )),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self.body())).into_response()
    }
}
