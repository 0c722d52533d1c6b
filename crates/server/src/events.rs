//! Recording identity events (`candor_calls::events`): the domain code says what happened —
//! `events::emit(app, Event::new(Kind::SigninFailed).cause(Code::LoginUnknownUser))` — and
//! what the request has noted about itself ([`crate::calls`]: the client, the subject, the
//! grant, the client's address, the request id) fills in the rest. Never waits, never fails:
//! without an event log attached ([`App::attach_events`]) an event goes nowhere.

use candor_calls::events::bounded;
use candor_calls::{IdentityEvent, Kind};
use candor_proto::Code;

use crate::app::App;
use crate::audit::Actor;

/// An event being made: what the emission point knows; the rest comes from the request's note.
#[derive(Debug)]
pub struct Event(IdentityEvent);

impl Event {
    pub fn new(kind: Kind) -> Event {
        Event(IdentityEvent::new(kind))
    }

    /// Why: the diagnosis code of a failure.
    pub fn cause(mut self, code: Code) -> Event {
        self.0.cause = Some(code);
        self
    }

    /// The user's internal id, when the request's note does not say it (or says another).
    pub fn subject(mut self, subject: &str) -> Event {
        self.0.subject = Some(subject.to_string());
        self
    }

    /// The client, when the request's note does not say it.
    pub fn client(mut self, client_id: &str) -> Event {
        self.0.client_id = Some(client_id.to_string());
        self
    }

    /// A short public description (never a secret).
    pub fn detail(mut self, detail: impl Into<String>) -> Event {
        self.0.detail = Some(detail.into());
        self
    }

    /// Made by an administrator's request (outside the endpoints' notes): its address and
    /// request id.
    pub fn by(mut self, actor: &Actor) -> Event {
        self.0.address = actor.address.clone();
        self.0.request_id = actor.request_id.clone();
        self
    }
}

/// Records `event`, completed from the request's note; never waits.
pub fn emit(app: &App, event: Event) {
    let Some(log) = app.events() else {
        return;
    };
    let mut e = event.0;
    if let Some(note) = crate::calls::current() {
        e.client_id = e.client_id.or(note.client_id);
        e.subject = e.subject.or(note.subject);
        e.grant = e.grant.or(note.grant.map(|g| g.as_str()));
        e.address = e.address.or(note.address.map(|a| a.to_string()));
        e.request_id = e.request_id.or(note.request_id);
    }
    // The server's clock (tests move it), to the microsecond within its second.
    e.at_us = app
        .now()
        .saturating_mul(1_000_000)
        .saturating_add(e.at_us.rem_euclid(1_000_000));
    e.client_id = bounded(e.client_id, 256);
    e.subject = bounded(e.subject, 256);
    e.request_id = bounded(e.request_id, 128);
    e.detail = bounded(e.detail, 512);
    log.record(e);
}

/// A signing key was rotated by `actor` (the admin API).
pub fn key_rotated(app: &App, actor: &Actor, rotation: &crate::keys::Rotation) {
    emit(
        app,
        Event::new(Kind::KeyRotated)
            .by(actor)
            .detail(rotation_detail(rotation)),
    );
}

/// How a rotation reads in its event's detail.
pub fn rotation_detail(r: &crate::keys::Rotation) -> String {
    format!(
        "alg={} kid={} activates_at={} retired={}",
        r.alg, r.new_kid, r.activates_at, r.retired
    )
}

/// `user_id`'s consent to `client_id` was withdrawn by `actor` (the admin API).
pub fn consent_revoked(app: &App, actor: &Actor, user_id: &str, client_id: &str) {
    emit(
        app,
        Event::new(Kind::ConsentRevoked)
            .by(actor)
            .subject(user_id)
            .client(client_id),
    );
}
