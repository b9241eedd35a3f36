//! The logs a witness follows: each one's origin and the keys that sign its checkpoints.
//!
//! Keys are C2SP verifier key strings (`<name>+<key ID>+<base64(type || key)>`), the form a log
//! publishes for note verifiers, of the three types our logs sign checkpoints with:
//!
//! - `0x01` Ed25519 (Rekor v2, Tessera, Go's `sumdb/note`): 32-byte public key;
//! - `0x02` ECDSA P-256 as transparency-dev and Rekor v1 sign: DER `SubjectPublicKeyInfo`;
//! - `0x05` RFC 6962 tree head signatures (static-ct-api CT logs): DER `SubjectPublicKeyInfo`,
//!   key ID `SHA-256(origin || 0x0A || 0x05 || log ID)[:4]` with log ID the SHA-256 of the DER
//!   key, as static-ct-api defines it. Sunlight writes its logs' keys the same way.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use tlog::checkpoint::Checkpoint;
use tlog::note::{KeyHash, Note, NoteError, NoteVerifier};

use crate::{ConfigError, Refusal};

/// The witness configuration file, as deserialised (TOML in `sigstack witness`):
///
/// ```toml
/// [[log]]
/// origin = "rekor.example.com"
/// keys = ["rekor.example.com+1a2b3c4d+AY...="]
/// ```
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// The logs followed.
    #[serde(rename = "log", default)]
    pub logs: Vec<LogConfig>,
}

/// One log in the configuration file.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// The log's origin: the first line of its checkpoints.
    pub origin: String,
    /// Verifier key strings of the keys trusted to sign its checkpoints (one is enough to
    /// cosign; every trusted signature present must verify).
    pub keys: Vec<String>,
}

impl WitnessConfig {
    /// Checks every origin and key and builds the list the witness follows.
    pub fn into_log_list(self) -> Result<LogList, ConfigError> {
        let logs = self
            .logs
            .into_iter()
            .map(|log| {
                let keys = log
                    .keys
                    .iter()
                    .map(|k| LogKey::from_vkey(k))
                    .collect::<Result<Vec<_>, _>>()?;
                Log::new(log.origin, keys)
            })
            .collect::<Result<Vec<_>, _>>()?;
        LogList::new(logs)
    }
}

/// A key trusted to sign a log's checkpoints.
#[derive(Debug, Clone)]
pub struct LogKey(KeyKind);

#[derive(Debug, Clone)]
enum KeyKind {
    /// Types `0x01` and `0x02`, verified by the log core's note verifier.
    Note(Box<NoteVerifier>),
    /// Type `0x05`, an RFC 6962 tree head signature.
    Rfc6962 {
        name: String,
        key_hash: KeyHash,
        spki_der: Vec<u8>,
    },
}

impl LogKey {
    /// Parses a verifier key string of type `0x01`, `0x02` or `0x05`; the key ID must match.
    pub fn from_vkey(vkey: &str) -> Result<Self, ConfigError> {
        let trimmed = vkey.trim();
        let rfc6962 = trimmed
            .splitn(3, '+')
            .nth(2)
            .and_then(|b64| BASE64.decode(b64).ok())
            .filter(|raw| raw.first() == Some(&ct::RFC6962_NOTE_SIGNATURE_TYPE));
        match rfc6962 {
            Some(raw) => Self::rfc6962_from_parts(trimmed, &raw[1..]),
            None => NoteVerifier::from_vkey(trimmed)
                .map(|v| LogKey(KeyKind::Note(Box::new(v))))
                .map_err(|source| ConfigError::Key {
                    vkey: vkey.to_string(),
                    source,
                }),
        }
    }

    /// A type `0x05` key for the log `origin` whose DER `SubjectPublicKeyInfo` is `spki_der`.
    pub fn rfc6962(origin: &str, spki_der: &[u8]) -> Result<Self, ConfigError> {
        let key =
            sigstack_keys::PublicKey::from_spki_der(spki_der).map_err(|e| ConfigError::Key {
                vkey: origin.to_string(),
                source: NoteError::InvalidPublicKey(e),
            })?;
        if key.ed25519_raw().is_some() {
            return Err(ConfigError::Rfc6962Key {
                vkey: origin.to_string(),
                reason: "an RFC 6962 log key is ECDSA or RSA, not Ed25519",
            });
        }
        let key_hash = ct::rfc6962_note_key_hash(origin, &sigstack_keys::key_id(spki_der));
        Ok(LogKey(KeyKind::Rfc6962 {
            name: origin.to_string(),
            key_hash,
            spki_der: spki_der.to_vec(),
        }))
    }

    fn rfc6962_from_parts(vkey: &str, spki_der: &[u8]) -> Result<Self, ConfigError> {
        let mut parts = vkey.splitn(3, '+');
        let (name, hash) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let key = Self::rfc6962(name, spki_der).map_err(|e| match e {
            ConfigError::Key { source, .. } => ConfigError::Key {
                vkey: vkey.to_string(),
                source,
            },
            ConfigError::Rfc6962Key { reason, .. } => ConfigError::Rfc6962Key {
                vkey: vkey.to_string(),
                reason,
            },
            other => other,
        })?;
        if !hash.eq_ignore_ascii_case(&key.key_hash().to_string()) {
            return Err(ConfigError::Rfc6962Key {
                vkey: vkey.to_string(),
                reason: "the key ID does not match the origin and key",
            });
        }
        Ok(key)
    }

    /// From a note verifier of the log core (types `0x01`, `0x02`).
    pub fn from_note_verifier(verifier: NoteVerifier) -> Self {
        LogKey(KeyKind::Note(Box::new(verifier)))
    }

    /// The verifier key string.
    pub fn to_vkey(&self) -> String {
        match &self.0 {
            KeyKind::Note(v) => v.to_vkey(),
            KeyKind::Rfc6962 {
                name,
                key_hash,
                spki_der,
            } => {
                let mut raw = vec![ct::RFC6962_NOTE_SIGNATURE_TYPE];
                raw.extend_from_slice(spki_der);
                format!("{name}+{key_hash}+{}", BASE64.encode(raw))
            }
        }
    }

    /// The key name signatures carry.
    pub fn name(&self) -> &str {
        match &self.0 {
            KeyKind::Note(v) => v.name(),
            KeyKind::Rfc6962 { name, .. } => name,
        }
    }

    /// Whether this key makes RFC 6962 tree head signatures (type `0x05`), whose bodies carry
    /// the tree head's timestamp.
    pub fn is_rfc6962(&self) -> bool {
        matches!(self.0, KeyKind::Rfc6962 { .. })
    }

    /// The key ID signatures start with.
    pub fn key_hash(&self) -> KeyHash {
        match &self.0 {
            KeyKind::Note(v) => v.key_hash(),
            KeyKind::Rfc6962 { key_hash, .. } => *key_hash,
        }
    }
}

/// A log the witness follows.
#[derive(Debug, Clone)]
pub struct Log {
    origin: String,
    keys: Vec<LogKey>,
}

impl Log {
    /// A log named `origin` whose checkpoints `keys` sign; at least one key.
    pub fn new(origin: impl Into<String>, keys: Vec<LogKey>) -> Result<Self, ConfigError> {
        let origin = origin.into();
        let valid = !origin.is_empty()
            && !origin.chars().any(|c| c.is_control())
            && origin.trim() == origin;
        if !valid {
            return Err(ConfigError::InvalidOrigin { origin });
        }
        if keys.is_empty() {
            return Err(ConfigError::NoKeys { origin });
        }
        Ok(Log { origin, keys })
    }

    /// The origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The trusted keys.
    pub fn keys(&self) -> &[LogKey] {
        &self.keys
    }

    /// Parses a signed checkpoint of this log and verifies the log's signature on it, as the
    /// witness does before cosigning: for a monitor, which follows the same logs with the same
    /// keys. The origin must be this log's ([`Refusal::UnknownLog`] otherwise).
    pub fn open(&self, note: &[u8]) -> Result<(Checkpoint, Note), Refusal> {
        let note = Note::parse(note).map_err(Refusal::MalformedNote)?;
        let checkpoint =
            Checkpoint::parse_body(note.text()).map_err(Refusal::MalformedCheckpoint)?;
        if checkpoint.origin() != self.origin {
            return Err(Refusal::UnknownLog {
                origin: checkpoint.origin().to_string(),
            });
        }
        self.verify(&note, &checkpoint)?;
        Ok((checkpoint, note))
    }

    /// Whether `signature` is under the name and key ID of one of this log's keys.
    pub(crate) fn is_log_signature(&self, signature: &tlog::note::NoteSignature) -> bool {
        self.keys
            .iter()
            .any(|k| k.name() == signature.name() && k.key_hash() == signature.key_hash())
    }

    /// Checks that `note` is signed by at least one of this log's keys and that every signature
    /// under a trusted name and key ID verifies. Signatures of unknown keys are ignored. An
    /// RFC 6962 signature covers no extension lines, so a checkpoint with extension lines needs
    /// a signature of another type.
    pub(crate) fn verify(&self, note: &Note, checkpoint: &Checkpoint) -> Result<(), Refusal> {
        let refuse = |reason: String| Refusal::NotSignedByLog { reason };
        let mut covers_all = false;
        let note_keys: Vec<NoteVerifier> = self
            .keys
            .iter()
            .filter_map(|k| match &k.0 {
                KeyKind::Note(v) => Some(NoteVerifier::clone(v)),
                KeyKind::Rfc6962 { .. } => None,
            })
            .collect();
        if !note_keys.is_empty() {
            match note.verify(&note_keys) {
                Ok(_) => covers_all = true,
                Err(NoteError::NoVerifiedSignature { .. }) => {}
                Err(e) => return Err(refuse(e.to_string())),
            }
        }
        let mut rfc6962 = false;
        for key in &self.keys {
            let KeyKind::Rfc6962 {
                name,
                key_hash,
                spki_der,
            } = &key.0
            else {
                continue;
            };
            for sig in note.signatures() {
                if sig.name() != name || sig.key_hash() != *key_hash {
                    continue;
                }
                let body = ct::Rfc6962NoteSignature::parse(sig.signature())
                    .map_err(|e| refuse(format!("RFC 6962 signature by {name}: {e}")))?;
                ct::verify_tree_head(
                    spki_der,
                    body.timestamp,
                    checkpoint.size(),
                    checkpoint.root_hash(),
                    &body.signature,
                )
                .map_err(|e| refuse(format!("RFC 6962 signature by {name}: {e}")))?;
                rfc6962 = true;
            }
        }
        if covers_all || (rfc6962 && checkpoint.extensions().is_empty()) {
            Ok(())
        } else if rfc6962 {
            Err(refuse(
                "only an RFC 6962 signature, which does not cover the extension lines".into(),
            ))
        } else {
            Err(refuse(
                "no signature from a key trusted for this log".into(),
            ))
        }
    }
}

/// The logs a witness follows, by origin.
#[derive(Debug, Clone)]
pub struct LogList {
    logs: BTreeMap<String, Log>,
}

impl LogList {
    /// The list of `logs`; at least one, no origin twice.
    pub fn new(logs: Vec<Log>) -> Result<Self, ConfigError> {
        if logs.is_empty() {
            return Err(ConfigError::NoLogs);
        }
        let mut map = BTreeMap::new();
        for log in logs {
            if map.contains_key(log.origin()) {
                return Err(ConfigError::DuplicateOrigin { origin: log.origin });
            }
            map.insert(log.origin.clone(), log);
        }
        Ok(LogList { logs: map })
    }

    /// The log with this origin.
    pub fn get(&self, origin: &str) -> Option<&Log> {
        self.logs.get(origin)
    }

    /// Every log, by origin.
    pub fn iter(&self) -> impl Iterator<Item = &Log> {
        self.logs.values()
    }
}

/// The lowercase hex SHA-256 of an origin: the path segment of the witness's monitoring
/// endpoint `GET /<origin hash>/checkpoint`.
pub fn origin_hash(origin: &str) -> String {
    Sha256::digest(origin.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
