//! Sealing values at rest with the server's master key (AES-256-GCM).
//!
//! Private signing keys and `client_secret_jwt` secrets must be recoverable, so they cannot be
//! stored as digests; they are sealed instead. The master key lives outside the database (a
//! file or an environment variable), so a copy of the database alone yields no usable key.

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};

use crate::secret::random_bytes;

/// Why a sealed value could not be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the master key must be 32 bytes, got {0}")]
    KeyLength(usize),
    #[error("sealing failed")]
    Seal,
    #[error("the sealed value is corrupt or was sealed with another master key")]
    Open,
}

/// The 256-bit key that seals secrets at rest.
pub struct MasterKey {
    key: RandomizedNonceKey,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// A fresh random key; returns its bytes for storing.
    pub fn generate() -> Result<(MasterKey, [u8; 32]), SealError> {
        let bytes = random_bytes::<32>();
        Ok((MasterKey::from_bytes(&bytes)?, bytes))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<MasterKey, SealError> {
        if bytes.len() != 32 {
            return Err(SealError::KeyLength(bytes.len()));
        }
        let key = RandomizedNonceKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::Seal)?;
        Ok(MasterKey { key })
    }

    /// Seals `plaintext`, bound to `context` (e.g. the kid) so that a sealed value cannot be
    /// swapped into another row. Output: nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut in_out = plaintext.to_vec();
        let nonce = self
            .key
            .seal_in_place_append_tag(Aad::from(context.as_bytes()), &mut in_out)
            .map_err(|_| SealError::Seal)?;
        let mut out = Vec::with_capacity(NONCE_LEN + in_out.len());
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    /// Opens what [`MasterKey::seal`] produced with the same `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut in_out = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut in_out)
            .map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_context_binding() {
        let (key, _) = MasterKey::generate().unwrap();
        let sealed = key.seal("kid-1", b"private").unwrap_or_default();
        assert_ne!(&sealed[NONCE_LEN..], b"private");
        assert_eq!(key.open("kid-1", &sealed), Ok(b"private".to_vec()));
        assert_eq!(key.open("kid-2", &sealed), Err(SealError::Open));
        assert_eq!(key.open("kid-1", &sealed[..5]), Err(SealError::Open));
        let (other, _) = MasterKey::generate().unwrap();
        assert_eq!(other.open("kid-1", &sealed), Err(SealError::Open));
    }

    #[test]
    fn wrong_length_key() {
        assert_eq!(
            MasterKey::from_bytes(&[0; 16]).err(),
            Some(SealError::KeyLength(16))
        );
    }
}
