//! The console's Diagnoses page: the catalogue of causes Candor's server and gateway answer
//! with, each with how often it was answered in the last hour and the last day, the fix, and
//! links to its page and to the matching calls — the most frequent first.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use candor_proto::Code;
use candor_proto::diagnosis::Side;

use super::{Frame, render, signed_in};
use crate::app::App;

struct DiagnosisRow {
    code: &'static str,
    title: &'static str,
    fix: &'static str,
    hour: u64,
    day: u64,
}

#[derive(Template)]
#[template(path = "console_diagnoses.html")]
struct DiagnosesPage {
    frame: Frame,
    docs: String,
    refused: Option<String>,
    rows: Vec<DiagnosisRow>,
}

/// Calls by diagnosis since `since` (a duration the call log reads, e.g. `1h`).
async fn counts(app: &App, since: &str) -> Result<HashMap<String, u64>, String> {
    let log = app
        .call_log()
        .ok_or_else(|| "The call log is off ([calls] enabled = false).".to_string())?;
    let params: candor_calls::params::Params = vec![
        ("since".into(), since.into()),
        ("by".into(), "diagnosis".into()),
    ];
    let q = candor_calls::params::stats_query(&params, app.now()).map_err(|e| e.to_string())?;
    let stats = log.stats(&q).await.map_err(|e| {
        tracing::warn!(error = %e, "the console cannot read the call log");
        "The call log cannot be read; see the server's log.".to_string()
    })?;
    Ok(stats
        .rows
        .into_iter()
        .filter_map(|r| {
            let code = r.group.get("diagnosis")?.as_str()?.to_string();
            Some((code, r.calls))
        })
        .collect())
}

/// `GET /admin/diagnoses`.
pub(in crate::http) async fn diagnoses(State(app): State<App>, jar: CookieJar) -> Response {
    let frame = match signed_in(&app, &jar).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let (hour, day, refused) = match (counts(&app, "1h").await, counts(&app, "24h").await) {
        (Ok(h), Ok(d)) => (h, d, None),
        (Err(why), _) | (_, Err(why)) => (HashMap::new(), HashMap::new(), Some(why)),
    };
    let mut rows: Vec<DiagnosisRow> = Code::ALL
        .iter()
        .map(|c| c.entry())
        .filter(|e| e.side == Side::Server)
        .map(|e| DiagnosisRow {
            code: e.code,
            title: e.title,
            fix: e.fix,
            hour: hour.get(e.code).copied().unwrap_or(0),
            day: day.get(e.code).copied().unwrap_or(0),
        })
        .collect();
    rows.sort_by(|a, b| b.day.cmp(&a.day).then_with(|| a.code.cmp(b.code)));
    let page = DiagnosesPage {
        frame,
        docs: candor_proto::error::docs_base(app.issuer()),
        refused,
        rows,
    };
    render(StatusCode::OK, page.render())
}
