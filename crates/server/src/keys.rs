//! The server's signing keys: created on first start, rotated on demand, shared by every node
//! through the store, and re-read periodically so that a rotation reaches all nodes.
//!
//! A rotation publishes the next key at once but lets it sign only from `activates_at` on
//! (by default two minutes later): clients cache the JWKS (openid-client refetches at most
//! once a minute), so a key must be public before the first token it signs reaches them. The
//! previous key signs until then and stays published until every token it signed has expired.

use std::sync::{Arc, RwLock};

use candor_proto::jose::{KeySet, SigningAlg, SigningKey};
use candor_proto::seal::MasterKey;
use candor_store::{KeyStore, SigningKeyRecord};

use crate::error::ServerError;

/// The sealing context of a key: binds the sealed bytes to their kid.
fn seal_context(kid: &str) -> String {
    format!("signing-key:{kid}")
}

/// The key set in use, swapped atomically on reload.
pub struct Keys {
    store: Arc<dyn KeyStore>,
    master: Arc<MasterKey>,
    current: RwLock<Arc<KeySet>>,
    /// What the current set was built from: (kid, signing now), to skip needless reloads.
    fingerprint: RwLock<Vec<(String, bool)>>,
}

impl Keys {
    /// Loads the keys from the store, creating an active key for each of `algs` that has none.
    pub async fn open(
        store: Arc<dyn KeyStore>,
        master: Arc<MasterKey>,
        algs: &[SigningAlg],
        now: i64,
    ) -> Result<Keys, ServerError> {
        let keys = Keys {
            store,
            master,
            current: RwLock::new(Arc::new(KeySet::default())),
            fingerprint: RwLock::new(Vec::new()),
        };
        keys.reload_at(now).await?;
        for alg in algs {
            if keys.current().active(*alg).is_none() {
                add_key(keys.store.as_ref(), &keys.master, *alg, now, now).await?;
            }
        }
        keys.reload_at(now).await?;
        Ok(keys)
    }

    /// The key set to sign and verify with now.
    pub fn current(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the keys from the store as of `now`; a no-op when nothing changed.
    pub async fn reload_at(&self, now: i64) -> Result<(), ServerError> {
        let records: Vec<SigningKeyRecord> = self
            .store
            .list_signing_keys()
            .await?
            .into_iter()
            .filter(|r| r.publish_until.is_none_or(|until| until > now))
            .collect();
        let fingerprint: Vec<_> = records
            .iter()
            .map(|r| (r.kid.clone(), signs_at(r, now)))
            .collect();
        let unchanged = match self.fingerprint.read() {
            Ok(f) => *f == fingerprint,
            Err(_) => false,
        };
        if unchanged && !fingerprint.is_empty() {
            return Ok(());
        }
        let set = build_set(&records, &self.master, now)?;
        if let Ok(mut cur) = self.current.write() {
            *cur = Arc::new(set);
        }
        if let Ok(mut f) = self.fingerprint.write() {
            *f = fingerprint;
        }
        Ok(())
    }
}

/// Whether a key signs new tokens at `now`.
pub fn signs_at(record: &SigningKeyRecord, now: i64) -> bool {
    record.activates_at <= now && record.retired_at.is_none_or(|retired| retired > now)
}

/// A key's state at `now`, for `candor keys list`.
pub fn status_at(record: &SigningKeyRecord, now: i64) -> &'static str {
    if record.activates_at > now {
        "pending"
    } else if signs_at(record, now) {
        if record.retired_at.is_some() {
            "retiring"
        } else {
            "active"
        }
    } else {
        "retired"
    }
}

fn build_set(
    records: &[SigningKeyRecord],
    master: &MasterKey,
    now: i64,
) -> Result<KeySet, ServerError> {
    let mut keys = Vec::with_capacity(records.len());
    // Newest first, so that the newest active key of each algorithm signs.
    for record in records.iter().rev() {
        let alg = record.alg;
        let der = master
            .open(&seal_context(&record.kid), &record.private_sealed)
            .map_err(|source| ServerError::Unseal {
                kid: record.kid.clone(),
                source,
            })?;
        let key = SigningKey::from_pkcs8(alg, &der)?;
        keys.push((key, signs_at(record, now)));
    }
    Ok(KeySet::new(keys))
}

/// Generates, seals and stores a new key of `alg` that signs from `activates_at`; returns its
/// kid.
pub async fn add_key(
    store: &dyn KeyStore,
    master: &MasterKey,
    alg: SigningAlg,
    now: i64,
    activates_at: i64,
) -> Result<String, ServerError> {
    let (key, der) = SigningKey::generate(alg)?;
    let kid = key.kid().to_string();
    let public_jwk = serde_json::to_string(key.public_jwk())
        .map_err(|e| ServerError::InvalidRegistration(e.to_string()))?;
    store
        .insert_signing_key(&SigningKeyRecord {
            kid: kid.clone(),
            alg,
            private_sealed: master.seal(&seal_context(&kid), &der)?,
            public_jwk,
            created_at: now,
            activates_at,
            retired_at: None,
            publish_until: None,
        })
        .await?;
    Ok(kid)
}

/// What a rotation did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rotation {
    pub alg: &'static str,
    pub new_kid: String,
    /// When the new key starts signing (Unix seconds); it is published at once.
    pub activates_at: i64,
    /// How many keys it replaces; they sign until `activates_at`.
    pub retired: u64,
    /// Retired keys stay in the JWKS until this time (Unix seconds).
    pub retired_published_until: i64,
}

/// Adds a new key of `alg`, published now and signing from `activates_at`, and retires the
/// previous ones from that moment; they stay published `publish_for` seconds longer, long
/// enough for every token they signed to expire. `activates_at = now` rotates at once (after
/// a compromise).
pub async fn rotate(
    store: &dyn KeyStore,
    master: &MasterKey,
    alg: SigningAlg,
    now: i64,
    activates_at: i64,
    publish_for: i64,
) -> Result<Rotation, ServerError> {
    let activates_at = activates_at.max(now);
    let new_kid = add_key(store, master, alg, now, activates_at).await?;
    let until = activates_at + publish_for;
    let retired = store
        .retire_signing_keys(alg, &new_kid, activates_at, until)
        .await?;
    store.delete_expired_signing_keys(now).await?;
    Ok(Rotation {
        alg: alg.as_str(),
        new_kid,
        activates_at,
        retired,
        retired_published_until: until,
    })
}
