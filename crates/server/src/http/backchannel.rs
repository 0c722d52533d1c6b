//! Token, introspection and revocation endpoints: POST with a form body, client-authenticated.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use candor_proto::error::quote;
use candor_proto::form::{Form, parse_request};
use candor_proto::{Code, OAuthError};

use super::respond::{error_response, header_str, no_store_json, refuse};
use crate::app::App;
use crate::refusal::Refusal;

/// Reads the body up to the configured limit, then checks its Content-Type and parses it.
async fn read_form(app: &App, headers: &HeaderMap, body: Body) -> Result<Form, OAuthError> {
    let limit = app.settings().max_body_bytes;
    let too_large = || {
        OAuthError::new(
            Code::TokenRequestTooLarge,
            format!("the request body is larger than {limit} bytes"),
        )
    };
    let declared = header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let bytes: Bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    parse_request(header_str(headers, header::CONTENT_TYPE), &bytes)
}

pub async fn token(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let form = read_form(&app, &headers, body).await?;
        crate::token::exchange(&app, header_str(&headers, header::AUTHORIZATION), &form).await
    }
    .await;
    match result {
        Ok(response) => no_store_json(StatusCode::OK, &response),
        Err(refusal) => refuse(&app, refusal),
    }
}

pub async fn introspect(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let form = read_form(&app, &headers, body).await?;
        crate::introspection::introspect(&app, header_str(&headers, header::AUTHORIZATION), &form)
            .await
    }
    .await;
    match result {
        Ok(response) => no_store_json(StatusCode::OK, &response),
        Err(refusal) => refuse(&app, refusal),
    }
}

pub async fn revoke(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    let result: Result<(), Refusal> = async {
        let form = read_form(&app, &headers, body).await?;
        crate::revocation::revoke(&app, header_str(&headers, header::AUTHORIZATION), &form).await
    }
    .await;
    match result {
        Ok(()) => {
            let mut r = StatusCode::OK.into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(refusal) => refuse(&app, refusal),
    }
}

/// Any method but POST: 405 with `Allow: POST` and the error shape.
pub async fn not_post(State(app): State<App>, method: Method) -> Response {
    let error = OAuthError::new(
        Code::TokenRequestNotPost,
        format!(
            "expected method 'POST', received {}",
            quote(method.as_str())
        ),
    );
    tracing::info!(
        diagnosis = error.code.as_str(),
        status = 405,
        "request refused"
    );
    let mut response = error_response(&app, &error);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}
