//! A flow's group: its checks in entry order, its title, and its findings tied together (a
//! refusal to the findings that explain it) and folded (a retry's repeats into the first).

use std::collections::HashMap;

use candor_proto::Code;

use super::Analysis;
use super::correlate::{Correlation, Flow, Issued};
use super::entry::quote;
use super::params::{body_params, first, token_client_id};
use super::token::Redeemed;
use crate::finding::{Finding, Group, Source};

impl Analysis<'_> {
    /// A group per flow, in the time order of their first entries; codes and refresh tokens
    /// are followed across flows, so that a second use is seen wherever it happens.
    pub(super) fn check_flows(&self, c: &Correlation) -> Vec<Group> {
        let flows = &c.flows;
        let mut order: Vec<usize> = (0..flows.len()).collect();
        order.sort_by_key(|i| flows.get(*i).map(|f| f.first_ms).unwrap_or(0));
        let mut groups = Vec::new();
        let mut redeemed = Redeemed::default();
        for (n, i) in order.iter().enumerate() {
            let Some(flow) = flows.get(*i) else {
                continue;
            };
            let mut g = Group::new(String::new());
            for miss in c.state_misses.iter().filter(|m| m.flow == *i) {
                g.findings.push(self.state_finding(miss));
            }
            self.check_flow(flow, &c.issued, &mut redeemed, &mut g);
            g.title = format!("Flow {}: {}", n + 1, self.flow_title(flow));
            cross_reference(&mut g.findings);
            dedupe(&mut g.findings);
            crate::finding::merge_same_cause(&mut g.findings);
            // Findings in entry order.
            g.findings.sort_by_key(|f| match &f.source {
                Some(Source::Entry { index, .. }) => self
                    .capture
                    .entry(*index)
                    .map(|e| e.started_ms)
                    .unwrap_or(0),
                _ => 0,
            });
            groups.push(g);
        }
        groups
    }

    /// The checks of one flow, entry by entry.
    fn check_flow(
        &self,
        flow: &Flow,
        issued: &HashMap<usize, Issued>,
        redeemed: &mut Redeemed,
        g: &mut Group,
    ) {
        if let Some(z) = &flow.authz {
            self.check_authorize(z, g);
        }
        for cb in &flow.callbacks {
            self.check_callback(cb, g);
        }
        if flow.authz.is_some() && flow.callbacks.is_empty() {
            g.lines.push(
                "callback: not in the capture (the redirect back to the client was not recorded)"
                    .into(),
            );
        }
        for t in &flow.tokens {
            if let Some(e) = self.capture.entry(*t) {
                self.check_token(e, flow, issued, redeemed, g);
            }
        }
        for u in &flow.userinfo {
            if let Some(e) = self.capture.entry(*u) {
                self.check_userinfo(e, g);
            }
        }
    }

    /// What kind of flow it is, and for which client.
    fn flow_title(&self, flow: &Flow) -> String {
        let mut grants: Vec<String> = Vec::new();
        for t in &flow.tokens {
            if let Some(e) = self.capture.entry(*t) {
                let (_, mut p) = body_params(e);
                p.extend(e.query());
                if let Some(g) = first(&p, "grant_type")
                    && !grants.iter().any(|x| x == g)
                {
                    grants.push(g.to_string());
                }
            }
        }
        let kind = if flow.authz.is_some() || !flow.callbacks.is_empty() {
            if grants.is_empty() || grants.iter().any(|g| g == "authorization_code") {
                "authorization code".to_string()
            } else {
                format!("authorization, then {}", grants.join(", "))
            }
        } else if !grants.is_empty() {
            grants.join(", ")
        } else if !flow.userinfo.is_empty() {
            "userinfo call".into()
        } else {
            "requests".into()
        };
        let client = flow
            .authz
            .as_ref()
            .and_then(|z| z.get("client_id").map(str::to_string))
            .or_else(|| {
                flow.tokens
                    .iter()
                    .find_map(|t| self.capture.entry(*t).and_then(token_client_id))
            });
        match client {
            Some(c) => format!("{kind}, client_id {}", quote(&c)),
            None => kind,
        }
    }
}

/// Ties a provider's refusal to the findings that explain it: on the same entry, and able to
/// produce the refusal's RFC error (a secret's location cannot explain `invalid_grant`; a
/// redirect_uri or PKCE mismatch can).
fn cross_reference(findings: &mut [Finding]) {
    let entry = |f: &Finding| match &f.source {
        Some(Source::Entry { index, .. }) => Some(*index),
        _ => None,
    };
    // A refusal is a finding made from the provider's error response (it carries its RFC
    // error), whether named by the RFC alone or by the provider's own phrase.
    let causes: Vec<(Option<usize>, Code)> = findings
        .iter()
        .filter(|f| f.is_problem() && f.provider_error.is_none())
        .map(|f| (entry(f), f.code))
        .collect();
    for f in findings.iter_mut().filter(|f| f.provider_error.is_some()) {
        let named = f.code;
        let at = entry(f);
        let refused_with = f.provider_error.clone();
        let mine: Vec<String> = causes
            .iter()
            .filter(|(e, c)| {
                e.is_some()
                    && *e == at
                    && c.entry().error.is_some()
                    && c.entry().error == refused_with.as_deref()
                    && *c != named
            })
            .map(|(_, c)| c.to_string())
            .collect();
        if !mine.is_empty() {
            f.message.push_str(&format!(
                " The cause, found in this request: {}.",
                mine.join(", ")
            ));
        }
    }
}

/// Folds findings that repeat one another (the same problem in a retried request) into the
/// first, which then names the other entries.
fn dedupe(findings: &mut Vec<Finding>) {
    let mut kept: Vec<Finding> = Vec::new();
    for f in findings.drain(..) {
        let same = kept.iter_mut().find(|k| {
            k.code == f.code
                && k.message == f.message
                && k.expected == f.expected
                && k.received == f.received
        });
        match (same, &f.source) {
            (Some(k), Some(Source::Entry { index, .. })) => {
                k.message
                    .push_str(&format!(" The same at log.entries[{index}]."));
            }
            (Some(_), _) => {}
            (None, _) => kept.push(f),
        }
    }
    *findings = kept;
}
