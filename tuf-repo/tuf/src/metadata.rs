//! The four top-level roles and the signed envelope.

use crate::{canonical_json, Key, KeyId, Time, TufError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sigstack_keys::Signer;
use std::collections::BTreeMap;

/// The `spec_version` we write; python-tuf 7 accepts any 1.x.
pub const SPEC_VERSION: &str = "1.0.31";

/// The name of a top-level role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoleName {
    /// `root`: the keys and thresholds of every role.
    Root,
    /// `targets`: the target files.
    Targets,
    /// `snapshot`: the versions of every targets metadata file.
    Snapshot,
    /// `timestamp`: the current snapshot.
    Timestamp,
}

impl RoleName {
    /// The role's name in metadata (`_type`, `roles` keys, file names).
    pub fn as_str(self) -> &'static str {
        match self {
            RoleName::Root => "root",
            RoleName::Targets => "targets",
            RoleName::Snapshot => "snapshot",
            RoleName::Timestamp => "timestamp",
        }
    }
}

impl std::fmt::Display for RoleName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `signed` part of one top-level role's metadata.
pub trait Role: Serialize + DeserializeOwned + Clone {
    /// Which role this is.
    const NAME: RoleName;
    /// The metadata version.
    fn version(&self) -> u64;
    /// When the metadata expires.
    fn expires(&self) -> Time;
}

/// A role's keys and threshold, as listed in root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleKeys {
    /// The key ids allowed to sign for the role.
    pub keyids: Vec<KeyId>,
    /// How many distinct keys must sign.
    pub threshold: u32,
    /// Members this crate does not interpret, kept verbatim.
    #[serde(flatten)]
    pub unrecognized: BTreeMap<String, Value>,
}

/// Root metadata: the keys of every top-level role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Root {
    /// TUF specification version.
    pub spec_version: String,
    /// Metadata version, starting at 1.
    pub version: u64,
    /// Expiry.
    pub expires: Time,
    /// Whether metadata and targets are published under versioned / hash-prefixed names.
    #[serde(default)]
    pub consistent_snapshot: bool,
    /// Every key any top-level role uses, by key id.
    pub keys: BTreeMap<KeyId, Key>,
    /// `root`, `targets`, `snapshot`, `timestamp`.
    pub roles: BTreeMap<String, RoleKeys>,
    /// Members this crate does not interpret, kept verbatim.
    #[serde(flatten)]
    pub unrecognized: BTreeMap<String, Value>,
}

/// Targets metadata: the target files clients may download.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// TUF specification version.
    pub spec_version: String,
    /// Metadata version, starting at 1.
    pub version: u64,
    /// Expiry.
    pub expires: Time,
    /// Target files by name.
    pub targets: BTreeMap<String, TargetFile>,
    /// Delegations to other targets roles (sigstack does not delegate; Sigstore's public
    /// repository delegates `registry.npmjs.org/*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegations: Option<Delegations>,
    /// Members this crate does not interpret, kept verbatim.
    #[serde(flatten)]
    pub unrecognized: BTreeMap<String, Value>,
}

/// The `delegations` of targets metadata (TUF §4.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delegations {
    /// The delegated roles' keys, by key id.
    pub keys: BTreeMap<KeyId, Key>,
    /// The delegated roles, in priority order.
    pub roles: Vec<DelegatedRole>,
    /// Members this crate does not interpret, kept verbatim.
    #[serde(flatten)]
    pub unrecognized: BTreeMap<String, Value>,
}

/// One delegated targets role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DelegatedRole {
    /// Role name; its metadata file is `N.<name>.json`.
    pub name: String,
    /// Keys allowed to sign for the role.
    pub keyids: Vec<KeyId>,
    /// How many distinct keys must sign.
    pub threshold: u32,
    /// Whether a match ends the search for a target.
    #[serde(default)]
    pub terminating: bool,
    /// Target path patterns the role is trusted for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// Members this crate does not interpret (`path_hash_prefixes`, …), kept verbatim.
    #[serde(flatten)]
    pub unrecognized: BTreeMap<String, Value>,
}

impl Targets {
    /// Verifies that `metadata` carries the threshold of signatures of the delegated role
    /// `name`, as this targets metadata delegates it.
    pub fn verify_delegated(
        &self,
        name: &str,
        metadata: &Metadata<Targets>,
    ) -> Result<(), TufError> {
        let delegations = self
            .delegations
            .as_ref()
            .ok_or_else(|| TufError::UnknownRole(name.to_owned()))?;
        let role = delegations
            .roles
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| TufError::UnknownRole(name.to_owned()))?;
        let valid = count_valid(name, &delegations.keys, &role.keyids, metadata)?;
        if valid < role.threshold as usize {
            return Err(TufError::ThresholdNotMet {
                role: name.to_owned(),
                signer_set: format!("targets v{}", self.version),
                valid,
                threshold: role.threshold,
            });
        }
        Ok(())
    }
}

/// One target file: its length, hashes and custom metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetFile {
    /// Length in bytes.
    pub length: u64,
    /// Hex digests by algorithm (`sha256`; `sha512` may also appear).
    pub hashes: BTreeMap<String, String>,
    /// Application metadata; Sigstore uses `{"sigstore": {"usage": …, "status": …}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
    /// Members this crate does not interpret, kept verbatim.
    #[serde(flatten)]
    pub unrecognized: BTreeMap<String, Value>,
}

/// A metadata file as referenced from snapshot (targets files) or timestamp (snapshot.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaFile {
    /// The referenced version.
    pub version: u64,
    /// Length of the file in bytes, if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// Hex digests of the file, if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<BTreeMap<String, String>>,
    /// Members this crate does not interpret, kept verbatim.
    #[serde(flatten)]
    pub unrecognized: BTreeMap<String, Value>,
}

/// Snapshot metadata: the version of every targets metadata file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// TUF specification version.
    pub spec_version: String,
    /// Metadata version, starting at 1.
    pub version: u64,
    /// Expiry.
    pub expires: Time,
    /// `targets.json` (and delegated roles) by file name.
    pub meta: BTreeMap<String, MetaFile>,
    /// Members this crate does not interpret, kept verbatim.
    #[serde(flatten)]
    pub unrecognized: BTreeMap<String, Value>,
}

/// Timestamp metadata: the current snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timestamp {
    /// TUF specification version.
    pub spec_version: String,
    /// Metadata version, starting at 1.
    pub version: u64,
    /// Expiry.
    pub expires: Time,
    /// Exactly `snapshot.json`.
    pub meta: BTreeMap<String, MetaFile>,
    /// Members this crate does not interpret, kept verbatim.
    #[serde(flatten)]
    pub unrecognized: BTreeMap<String, Value>,
}

macro_rules! role {
    ($t:ty, $name:expr) => {
        impl Role for $t {
            const NAME: RoleName = $name;
            fn version(&self) -> u64 {
                self.version
            }
            fn expires(&self) -> Time {
                self.expires
            }
        }
    };
}
role!(Root, RoleName::Root);
role!(Targets, RoleName::Targets);
role!(Snapshot, RoleName::Snapshot);
role!(Timestamp, RoleName::Timestamp);

impl Root {
    /// A version-1 root with consistent snapshots. `roles` maps each of the four role names to
    /// its keys and threshold; every key is added to `keys`.
    pub fn new(expires: Time, roles: &[(RoleName, &[Key], u32)]) -> Result<Self, TufError> {
        let mut root = Root {
            spec_version: SPEC_VERSION.to_owned(),
            version: 1,
            expires,
            consistent_snapshot: true,
            keys: BTreeMap::new(),
            roles: BTreeMap::new(),
            unrecognized: BTreeMap::new(),
        };
        for (role, keys, threshold) in roles {
            let mut keyids = Vec::with_capacity(keys.len());
            for k in *keys {
                let id = k.key_id()?;
                root.keys.insert(id.clone(), k.clone());
                keyids.push(id);
            }
            root.roles.insert(
                role.as_str().to_owned(),
                RoleKeys {
                    keyids,
                    threshold: *threshold,
                    unrecognized: BTreeMap::new(),
                },
            );
        }
        root.validate()?;
        Ok(root)
    }

    /// Checks the root is self-consistent: all four roles defined, every listed key defined,
    /// no duplicate key ids in a role, 1 <= threshold <= number of keys.
    pub fn validate(&self) -> Result<(), TufError> {
        for role in [
            RoleName::Root,
            RoleName::Targets,
            RoleName::Snapshot,
            RoleName::Timestamp,
        ] {
            let keys = self.role_keys(role.as_str())?;
            let mut ids: Vec<&KeyId> = keys.keyids.iter().collect();
            ids.sort();
            ids.dedup();
            if ids.len() != keys.keyids.len() {
                return Err(TufError::Malformed {
                    what: "root",
                    detail: format!("role {role} lists a key id twice"),
                });
            }
            for id in &keys.keyids {
                if !self.keys.contains_key(id) {
                    return Err(TufError::MissingKey {
                        role: role.as_str().to_owned(),
                        keyid: id.clone(),
                    });
                }
            }
            if keys.threshold == 0 || keys.threshold as usize > keys.keyids.len() {
                return Err(TufError::BadThreshold {
                    role: role.as_str().to_owned(),
                    threshold: keys.threshold,
                    keys: keys.keyids.len(),
                });
            }
        }
        Ok(())
    }

    /// The keys and threshold of a role.
    pub fn role_keys(&self, role: &str) -> Result<&RoleKeys, TufError> {
        self.roles
            .get(role)
            .ok_or_else(|| TufError::UnknownRole(role.to_owned()))
    }

    /// Verifies that `metadata` carries at least the threshold of valid signatures from the keys
    /// this root assigns to its role. Signatures by other keys, duplicates and invalid ones are
    /// ignored (they do not count, they do not fail).
    pub fn verify_role<T: Role>(&self, metadata: &Metadata<T>) -> Result<(), TufError> {
        let role = T::NAME.as_str();
        let keys = self.role_keys(role)?;
        let valid = self.count_valid(keys, metadata)?;
        if valid < keys.threshold as usize {
            return Err(TufError::ThresholdNotMet {
                role: role.to_owned(),
                signer_set: format!("root v{}", self.version),
                valid,
                threshold: keys.threshold,
            });
        }
        Ok(())
    }

    /// How many distinct keys of `role` (in this root) have a valid signature on `metadata`.
    pub fn valid_signatures<T: Role>(&self, role: RoleName, metadata: &Metadata<T>) -> usize {
        self.role_keys(role.as_str())
            .and_then(|keys| self.count_valid(keys, metadata))
            .unwrap_or(0)
    }

    fn count_valid<T: Role>(
        &self,
        keys: &RoleKeys,
        metadata: &Metadata<T>,
    ) -> Result<usize, TufError> {
        count_valid(T::NAME.as_str(), &self.keys, &keys.keyids, metadata)
    }
}

/// How many distinct keys among `keyids` have a valid signature on `metadata`.
fn count_valid<T: Role>(
    role: &str,
    keys: &BTreeMap<KeyId, Key>,
    keyids: &[KeyId],
    metadata: &Metadata<T>,
) -> Result<usize, TufError> {
    let mut counted: Vec<&str> = Vec::new();
    for sig in &metadata.signatures {
        if counted.contains(&sig.keyid.as_str()) || !keyids.contains(&sig.keyid) {
            continue;
        }
        let Some(key) = keys.get(&sig.keyid) else {
            return Err(TufError::MissingKey {
                role: role.to_owned(),
                keyid: sig.keyid.clone(),
            });
        };
        if key.verify(&metadata.canonical, &sig.sig).is_ok() {
            counted.push(&sig.keyid);
        }
    }
    Ok(counted.len())
}

/// Verifies a root rotation: `new` must be version `trusted + 1`, signed by the threshold of
/// the trusted root's root keys AND by the threshold of its own root keys.
pub fn verify_root_rotation(
    trusted: &Metadata<Root>,
    new: &Metadata<Root>,
) -> Result<(), TufError> {
    let (t, n) = (trusted.signed().version, new.signed().version);
    if n != t + 1 {
        return Err(TufError::RootNotSuccessor {
            trusted: t,
            proposed: n,
        });
    }
    trusted.signed().verify_role(new)?;
    new.signed().verify_role(new)
}

/// Fails with [`TufError::Expired`] unless `metadata` expires strictly after `now`.
pub fn check_not_expired<T: Role>(metadata: &Metadata<T>, now: Time) -> Result<(), TufError> {
    let s = metadata.signed();
    if s.expires() <= now {
        return Err(TufError::Expired {
            role: T::NAME.as_str().to_owned(),
            version: s.version(),
            expires: s.expires(),
            now,
        });
    }
    Ok(())
}

/// Fails with [`TufError::Rollback`] unless `proposed` is newer than the published `current`.
pub fn check_advances(role: RoleName, current: u64, proposed: u64) -> Result<(), TufError> {
    if proposed <= current {
        return Err(TufError::Rollback {
            role: role.as_str().to_owned(),
            current,
            proposed,
        });
    }
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl MetaFile {
    /// A reference to a metadata file with its version, length and SHA-256.
    pub fn describing(version: u64, bytes: &[u8]) -> Self {
        MetaFile {
            version,
            length: Some(bytes.len() as u64),
            hashes: Some(BTreeMap::from([("sha256".to_owned(), sha256_hex(bytes))])),
            unrecognized: BTreeMap::new(),
        }
    }

    /// Checks `bytes`, which claim to be version `version` of `file`, against this reference
    /// (the version always; length and hashes when recorded; only SHA-256/512 digests are
    /// checked, others are ignored).
    pub fn check(
        &self,
        file: &str,
        referrer: &'static str,
        version: u64,
        bytes: &[u8],
    ) -> Result<(), TufError> {
        let mismatch = |field, expected: String, actual: String| TufError::Mismatch {
            file: file.to_owned(),
            field,
            expected,
            actual,
            referrer,
        };
        if self.version != version {
            return Err(mismatch(
                "version",
                self.version.to_string(),
                version.to_string(),
            ));
        }
        if let Some(length) = self.length {
            if length != bytes.len() as u64 {
                return Err(mismatch(
                    "length",
                    length.to_string(),
                    bytes.len().to_string(),
                ));
            }
        }
        if let Some(hashes) = &self.hashes {
            check_hashes(hashes, bytes, mismatch)?;
        }
        Ok(())
    }
}

fn check_hashes(
    hashes: &BTreeMap<String, String>,
    bytes: &[u8],
    mismatch: impl Fn(&'static str, String, String) -> TufError,
) -> Result<(), TufError> {
    for (alg, expected) in hashes {
        let (field, actual) = match alg.as_str() {
            "sha256" => ("sha256", sha256_hex(bytes)),
            "sha512" => ("sha512", hex::encode(sha2::Sha512::digest(bytes))),
            _ => continue,
        };
        if !expected.eq_ignore_ascii_case(&actual) {
            return Err(mismatch(field, expected.clone(), actual));
        }
    }
    Ok(())
}

impl TargetFile {
    /// A target file entry for `bytes`, with its length, SHA-256 and custom metadata.
    pub fn describing(bytes: &[u8], custom: Option<Value>) -> Self {
        TargetFile {
            length: bytes.len() as u64,
            hashes: BTreeMap::from([("sha256".to_owned(), sha256_hex(bytes))]),
            custom,
            unrecognized: BTreeMap::new(),
        }
    }

    /// The SHA-256 digest (hex), which names the file under consistent snapshots.
    pub fn sha256(&self) -> Option<&str> {
        self.hashes.get("sha256").map(String::as_str)
    }

    /// Checks downloaded or stored `bytes` of target `name` against this entry.
    pub fn check(&self, name: &str, bytes: &[u8]) -> Result<(), TufError> {
        let mismatch = |field, expected: String, actual: String| TufError::Mismatch {
            file: name.to_owned(),
            field,
            expected,
            actual,
            referrer: "targets",
        };
        if self.length != bytes.len() as u64 {
            return Err(mismatch(
                "length",
                self.length.to_string(),
                bytes.len().to_string(),
            ));
        }
        if self.sha256().is_none() {
            return Err(TufError::Malformed {
                what: "targets",
                detail: format!("target {name} has no sha256 hash"),
            });
        }
        check_hashes(&self.hashes, bytes, mismatch)
    }
}

/// `custom` metadata in Sigstore's convention: `{"sigstore": {"usage": …, "status": …}}`.
///
/// Usages seen upstream: `Fulcio`, `Rekor`, `CTFE`, `TSA`, `Unknown`; statuses `Active`,
/// `Expired`.
pub fn sigstore_custom(usage: &str, status: &str) -> Value {
    serde_json::json!({"sigstore": {"usage": usage, "status": status}})
}

/// One signature of a metadata file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The signing key's id.
    pub keyid: KeyId,
    /// The signature, hex.
    pub sig: String,
}

/// Signed metadata: the `signed` object with its `signatures`.
///
/// The canonical bytes that signatures cover are fixed when the value is built (from a file, or
/// from a new `signed` object) so that parsed metadata verifies byte-exactly even when it holds
/// members or time formats this crate would write differently. To change the content, take it
/// out with [`Metadata::into_signed`] and build new metadata, which has no signatures.
#[derive(Debug, Clone)]
pub struct Metadata<T> {
    signed: T,
    signed_value: Value,
    canonical: Vec<u8>,
    signatures: Vec<Signature>,
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    signatures: &'a [Signature],
    signed: &'a Value,
}

#[derive(Deserialize)]
struct EnvelopeIn {
    signatures: Vec<Signature>,
    signed: Value,
}

impl<T: Role> Metadata<T> {
    /// Unsigned metadata for `signed`.
    pub fn new(signed: T) -> Result<Self, TufError> {
        let mut value = serde_json::to_value(&signed).map_err(|e| TufError::Malformed {
            what: T::NAME.as_str(),
            detail: e.to_string(),
        })?;
        let Value::Object(map) = &mut value else {
            return Err(TufError::Malformed {
                what: T::NAME.as_str(),
                detail: "not a JSON object".into(),
            });
        };
        map.insert("_type".into(), Value::String(T::NAME.as_str().into()));
        let canonical = canonical_json(&value)?;
        Ok(Metadata {
            signed,
            signed_value: value,
            canonical,
            signatures: Vec::new(),
        })
    }

    /// Parses a metadata file.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, TufError> {
        let malformed = |detail: String| TufError::Malformed {
            what: T::NAME.as_str(),
            detail,
        };
        let env: EnvelopeIn =
            serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        let found = env.signed.get("_type").and_then(Value::as_str);
        if found != Some(T::NAME.as_str()) {
            return Err(TufError::WrongType {
                expected: T::NAME.as_str(),
                found: found.unwrap_or("(none)").to_owned(),
            });
        }
        let mut typed = env.signed.clone();
        if let Value::Object(map) = &mut typed {
            map.remove("_type");
        }
        let signed: T = serde_json::from_value(typed).map_err(|e| malformed(e.to_string()))?;
        let canonical = canonical_json(&env.signed)?;
        Ok(Metadata {
            signed,
            signed_value: env.signed,
            canonical,
            signatures: env.signatures,
        })
    }

    /// The file bytes: pretty-printed JSON with `signatures` then `signed`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(&EnvelopeOut {
            signatures: &self.signatures,
            signed: &self.signed_value,
        })
        .expect("metadata serialises");
        out.push(b'\n');
        out
    }

    /// The signed content.
    pub fn signed(&self) -> &T {
        &self.signed
    }

    /// The signed content, dropping the signatures.
    pub fn into_signed(self) -> T {
        self.signed
    }

    /// The signatures.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// The canonical JSON bytes the signatures cover.
    pub fn canonical_bytes(&self) -> &[u8] {
        &self.canonical
    }

    /// Adds (or replaces) the signature of `signer`'s key; returns its key id.
    pub fn sign(&mut self, signer: &dyn Signer) -> Result<KeyId, TufError> {
        let keyid = Key::from_signer(signer)?.key_id()?;
        let sig = signer
            .sign(&self.canonical)
            .map_err(|source| TufError::Signing {
                role: T::NAME.as_str().to_owned(),
                keyid: keyid.clone(),
                source,
            })?;
        self.signatures.retain(|s| s.keyid != keyid);
        self.signatures.push(Signature {
            keyid: keyid.clone(),
            sig: hex::encode(sig),
        });
        Ok(keyid)
    }

    /// Adds a signature made elsewhere, as is (it is checked when thresholds are verified).
    pub fn add_signature(&mut self, signature: Signature) {
        self.signatures.retain(|s| s.keyid != signature.keyid);
        self.signatures.push(signature);
    }
}
