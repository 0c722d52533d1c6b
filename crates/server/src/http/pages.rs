//! Server-rendered pages (askama), with the headers every page carries: no framing, a strict
//! CSP, no caching, no referrer.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use candor_proto::OAuthError;

use crate::browser::{ConsentView, LoginView};
use crate::logout::ConfirmView;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    action: String,
    pending: &'a str,
    csrf: &'a str,
    client_name: &'a str,
    username: &'a str,
    error: Option<&'a str>,
    script: String,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    action: String,
    pending: &'a str,
    csrf: &'a str,
    client_name: &'a str,
    username: &'a str,
    scopes: &'a [(String, &'static str)],
}

#[derive(Template)]
#[template(path = "request_error.html")]
struct RequestErrorPage<'a> {
    code: &'a str,
    description: &'a str,
    /// The explanation and the fix as HTML ([`crate::docs::inline_code`]).
    explanation: String,
    fix: String,
    docs_url: String,
}

#[derive(Template)]
#[template(path = "step.html")]
struct StepPage<'a> {
    step: &'a str,
    home: &'a str,
}

/// `GET` on a step of the sign-in that only a form posts to (`/login`, `/consent`): a page
/// that says how to start again, not an empty 405 (`Allow: POST` still says what it takes).
///
/// `GET /consent` is a method the consent step takes (POST/redirect/GET): without a live
/// request of this browser's, `status` 400 says the request is what is wrong, with no `Allow`.
pub(super) fn step_page(issuer: &str, step: &str, status: StatusCode) -> Response {
    let mut response = render(status, StepPage { step, home: issuer }.render());
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}

#[derive(Template)]
#[template(path = "logout_confirm.html")]
struct LogoutConfirmPage<'a> {
    action: String,
    csrf: &'a str,
    id_token_hint: &'a str,
    post_logout_redirect_uri: &'a str,
    state: &'a str,
    client_id: &'a str,
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOutPage;

/// Adds the headers every page carries.
pub(super) fn harden(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        crate::page_style::policy().clone(),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A rendered page with its status and the headers every page carries.
pub(super) fn render(status: StatusCode, page: Result<String, askama::Error>) -> Response {
    let response = match page {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    };
    harden(response)
}

pub(super) fn login(issuer: &str, view: &LoginView, csrf: &str) -> Response {
    let status = StatusCode::from_u16(view.status).unwrap_or(StatusCode::OK);
    let mut response = render(
        status,
        LoginPage {
            action: format!("{issuer}/login"),
            pending: &view.pending,
            csrf,
            client_name: &view.client_name,
            username: &view.username,
            error: view.error.as_deref(),
            script: crate::docs::script_url(issuer),
        }
        .render(),
    );
    if let Some(seconds) = view.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

pub(super) fn consent(issuer: &str, view: &ConsentView, csrf: &str) -> Response {
    render(
        StatusCode::OK,
        ConsentPage {
            action: format!("{issuer}/consent"),
            pending: &view.pending,
            csrf,
            client_name: &view.client_name,
            username: &view.username,
            scopes: &view.scopes,
        }
        .render(),
    )
}

/// An error that must not be redirected: a page with the diagnosis, with the code's status
/// (4xx for the request's fault, 5xx for the server's).
pub(super) fn request_error(issuer: &str, error: &OAuthError) -> Response {
    crate::calls::diagnosis(error.code);
    let entry = error.code.entry();
    tracing::info!(
        diagnosis = error.code.as_str(),
        description = crate::refusal::logged_description(error),
        "request refused with an error page"
    );
    let status = StatusCode::from_u16(error.status())
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::BAD_REQUEST);
    render(
        status,
        RequestErrorPage {
            code: entry.code,
            description: &error.description,
            explanation: crate::docs::inline_code(entry.explanation),
            fix: crate::docs::inline_code(entry.fix),
            docs_url: error.error_uri(issuer),
        }
        .render(),
    )
}

pub(super) fn logout_confirm(issuer: &str, view: &ConfirmView, csrf: &str) -> Response {
    render(
        StatusCode::OK,
        LogoutConfirmPage {
            action: format!("{issuer}/logout"),
            csrf,
            id_token_hint: &view.id_token_hint,
            post_logout_redirect_uri: &view.post_logout_redirect_uri,
            state: &view.state,
            client_id: &view.client_id,
        }
        .render(),
    )
}

pub(super) fn signed_out() -> Response {
    render(StatusCode::OK, SignedOutPage.render())
}
