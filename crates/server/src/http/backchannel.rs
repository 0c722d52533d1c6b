//! Token, introspection and revocation endpoints: POST with a form body, client-authenticated.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use candor_proto::authorization;
use candor_proto::error::quote;
use candor_proto::form::{Form, parse_request};
use candor_proto::{Code, OAuthError};
use futures::StreamExt;

use super::respond::{basic_challenge, error_response, header_str, no_store_json, refuse};
use crate::app::App;
use crate::refusal::Refusal;

/// Bodies up to this size are read (and discarded) even when over the limit, so that the
/// client, still sending, receives the 413 instead of a reset connection.
const DRAIN_LIMIT: usize = 1024 * 1024;

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
    if declared.is_some_and(|n| n > DRAIN_LIMIT as u64) {
        return Err(too_large());
    }
    let mut kept = BytesMut::new();
    let mut total = 0usize;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| {
            OAuthError::new(
                Code::TokenRequestMalformedBody,
                "the request body could not be read",
            )
        })?;
        total += chunk.len();
        if total > DRAIN_LIMIT {
            return Err(too_large());
        }
        if total <= limit {
            kept.extend_from_slice(&chunk);
        }
    }
    if total > limit {
        return Err(too_large());
    }
    parse_request(header_str(headers, header::CONTENT_TYPE), &kept)
}

pub(super) async fn token(
    State(app): State<App>,
    peer: Option<axum::Extension<candor_serve::Peer>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let address = super::browser::client_address(&app, peer, &headers);
    let result = async {
        // Limits by address or API key before anything is parsed; by client after the
        // client has authenticated (grant::exchange), so no one spends another's budget.
        app.throttles()
            .check(
                crate::throttle::Endpoint::Token,
                &crate::throttle::Caller {
                    address,
                    client_id: None,
                    headers: &headers,
                },
            )
            .await
            .map_err(Refusal::Limited)?;
        let authorization = authorization::from_headers(&headers)?;
        let form = read_form(&app, &headers, body).await?;
        let request = crate::grant::TokenRequest {
            method: &method,
            uri: &uri,
            headers: &headers,
            authorization,
            form: &form,
        };
        crate::grant::exchange(&app, &request).await
    }
    .await;
    match result {
        Ok(response) => no_store_json(StatusCode::OK, &response),
        Err(refusal) => basic_challenge(&app, &headers, refuse(&app, refusal)),
    }
}

pub(super) async fn introspect(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let authorization = authorization::from_headers(&headers)?;
        let form = read_form(&app, &headers, body).await?;
        crate::introspection::introspect(&app, authorization, &form).await
    }
    .await;
    match result {
        Ok(response) => no_store_json(StatusCode::OK, &response),
        Err(refusal) => basic_challenge(&app, &headers, refuse(&app, refusal)),
    }
}

pub(super) async fn revoke(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    let result: Result<(), Refusal> = async {
        let authorization = authorization::from_headers(&headers)?;
        let form = read_form(&app, &headers, body).await?;
        crate::revocation::revoke(&app, authorization, &form).await
    }
    .await;
    match result {
        Ok(()) => {
            let mut r = StatusCode::OK.into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(refusal) => basic_challenge(&app, &headers, refuse(&app, refusal)),
    }
}

/// Any method but POST: 405 with `Allow: POST` and the error shape.
pub(super) async fn not_post(State(app): State<App>, method: Method) -> Response {
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

/// `GET /revocations`: the revocation feed, for gateways (see [`crate::feed`]).
pub(super) async fn revocations(
    State(app): State<App>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let result = async {
        let authorization = authorization::from_headers(&headers)?;
        let form = Form::parse(query.unwrap_or_default().as_bytes())?;
        crate::feed::read(&app, authorization, &form).await
    }
    .await;
    match result {
        Ok(body) => no_store_json(StatusCode::OK, &body),
        Err(refusal) => basic_challenge(&app, &headers, refuse(&app, refusal)),
    }
}
