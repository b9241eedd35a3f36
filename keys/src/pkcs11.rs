//! Keys in a PKCS#11 token (an HSM, SoftHSM2, a smart card), named by an RFC 7512 URI.
//!
//! The private key never leaves the token: signing is a `C_Sign` call. ECDSA keys sign the
//! digest we compute (`CKM_ECDSA`, so any token that does raw ECDSA works, and the digest is the
//! one our conventions name); Ed25519 keys sign the message (`CKM_EDDSA`). Sessions are pooled,
//! so signing is concurrent up to the pool's size.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use sha2::Digest as _;
use spki::EncodePublicKey as _;

use crate::{Algorithm, KeyError, Signer};

/// DER of the named-curve OIDs in `CKA_EC_PARAMS`.
const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384_PARAMS: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
const ED25519_PARAMS: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
/// PKCS#11 v3.0 also allows the curve name as a PrintableString.
const ED25519_PARAMS_NAME: &[u8] = b"\x13\x0cedwards25519";

/// How many sessions a key signs on at once unless the URI says otherwise.
pub const DEFAULT_SESSIONS: usize = 8;

/// An RFC 7512 PKCS#11 URI, as far as sigstack uses one:
/// `pkcs11:token=LABEL;object=LABEL;id=%01?module-path=/usr/lib/…so&pin-source=file:/run/pin`.
///
/// Path attributes: `token` (the token label), `slot-id`, `object` (the key's label), `id` (its
/// `CKA_ID`, percent-encoded bytes); at least one of `token` and `slot-id`, and one of `object`
/// and `id`. Query attributes: `module-path` (required: the library to load), `pin-source`
/// (`file:PATH` or a bare path) or `pin-value`, and `sessions` (the pool size, sigstack's own).
#[derive(Clone, PartialEq, Eq)]
pub struct Pkcs11Uri {
    token: Option<String>,
    slot_id: Option<u64>,
    object: Option<String>,
    id: Option<Vec<u8>>,
    module_path: PathBuf,
    pin: Option<PinSource>,
    sessions: usize,
}

#[derive(Clone, PartialEq, Eq)]
enum PinSource {
    Value(String),
    File(PathBuf),
}

impl std::fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl std::fmt::Display for Pkcs11Uri {
    /// The URI without its PIN value (a PIN file's path is shown): safe to log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
        let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        let mut path = Vec::new();
        if let Some(t) = &self.token {
            path.push(format!("token={}", enc(t)));
        }
        if let Some(s) = self.slot_id {
            path.push(format!("slot-id={s}"));
        }
        if let Some(o) = &self.object {
            path.push(format!("object={}", enc(o)));
        }
        if let Some(id) = &self.id {
            let hex: String = id.iter().map(|b| format!("%{b:02x}")).collect();
            path.push(format!("id={hex}"));
        }
        write!(
            f,
            "pkcs11:{}?module-path={}",
            path.join(";"),
            self.module_path.display()
        )?;
        match &self.pin {
            Some(PinSource::File(p)) => write!(f, "&pin-source=file:{}", p.display()),
            Some(PinSource::Value(_)) => f.write_str("&pin-value=(hidden)"),
            None => Ok(()),
        }
    }
}

impl Pkcs11Uri {
    /// Whether `spec` is meant as a PKCS#11 URI rather than a file name.
    pub fn is_uri(spec: &str) -> bool {
        spec.starts_with("pkcs11:")
    }

    /// The object label, the name a generated key gets.
    pub fn object(&self) -> Option<&str> {
        self.object.as_deref()
    }

    /// The same key URI text with the object label replaced: `spec` is the URI's text as
    /// given (with its PIN source), so that the result opens the relabelled key.
    pub fn with_object(spec: &str, label: &str) -> String {
        let (path, query) = spec.split_once('?').unwrap_or((spec, ""));
        let path: Vec<&str> = path
            .trim_start_matches("pkcs11:")
            .split(';')
            .filter(|a| !a.is_empty() && !a.starts_with("object="))
            .collect();
        let label =
            percent_encoding::utf8_percent_encode(label, percent_encoding::NON_ALPHANUMERIC);
        format!("pkcs11:{};object={label}?{query}", path.join(";"))
    }

    fn error(&self, reason: impl Into<String>) -> KeyError {
        KeyError::Pkcs11 {
            uri: self.to_string(),
            reason: reason.into(),
        }
    }

    fn pin(&self) -> Result<Option<AuthPin>, KeyError> {
        match &self.pin {
            None => Ok(None),
            Some(PinSource::Value(v)) => Ok(Some(AuthPin::from(v.clone()))),
            Some(PinSource::File(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    self.error(format!("reading the PIN file {}: {e}", path.display()))
                })?;
                let pin = text.strip_suffix('\n').unwrap_or(&text);
                let pin = pin.strip_suffix('\r').unwrap_or(pin);
                Ok(Some(AuthPin::from(pin.to_owned())))
            }
        }
    }
}

impl std::str::FromStr for Pkcs11Uri {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        let bad = |reason: String| KeyError::Pkcs11 {
            // Never echo a pin-value back.
            uri: s.split("pin-value").next().unwrap_or(s).to_owned(),
            reason,
        };
        let rest = s
            .strip_prefix("pkcs11:")
            .ok_or_else(|| bad("not a pkcs11: URI".into()))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let decode = |v: &str| -> Result<Vec<u8>, KeyError> {
            Ok(percent_encoding::percent_decode_str(v).collect())
        };
        let text = |name: &str, v: &str| -> Result<String, KeyError> {
            String::from_utf8(decode(v)?).map_err(|_| bad(format!("{name} is not UTF-8")))
        };
        let mut uri = Pkcs11Uri {
            token: None,
            slot_id: None,
            object: None,
            id: None,
            module_path: PathBuf::new(),
            pin: None,
            sessions: DEFAULT_SESSIONS,
        };
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (name, value) = attr
                .split_once('=')
                .ok_or_else(|| bad(format!("path attribute {attr:?} has no value")))?;
            match name {
                "token" => uri.token = Some(text(name, value)?),
                "object" => uri.object = Some(text(name, value)?),
                "id" => uri.id = Some(decode(value)?),
                "slot-id" => {
                    uri.slot_id = Some(
                        value
                            .parse()
                            .map_err(|_| bad(format!("slot-id {value:?} is not a number")))?,
                    )
                }
                // RFC 7512 lets a URI narrow by library, manufacturer, model, serial and type;
                // the token label or slot and the object are what name a key here.
                "type" if value == "private" => {}
                "type" => return Err(bad(format!("type={value}: only private keys sign"))),
                "manufacturer"
                | "model"
                | "serial"
                | "library-manufacturer"
                | "library-description"
                | "library-version"
                | "slot-description"
                | "slot-manufacturer" => {}
                other => return Err(bad(format!("unknown path attribute {other:?}"))),
            }
        }
        for attr in query.split('&').filter(|a| !a.is_empty()) {
            let (name, value) = attr
                .split_once('=')
                .ok_or_else(|| bad(format!("query attribute {attr:?} has no value")))?;
            match name {
                "module-path" => uri.module_path = PathBuf::from(text(name, value)?),
                "pin-value" => uri.pin = Some(PinSource::Value(text(name, value)?)),
                "pin-source" => {
                    let v = text(name, value)?;
                    let path = v.strip_prefix("file:").unwrap_or(&v);
                    // `file:///run/pin` and `file:/run/pin` both name /run/pin.
                    let path = path.strip_prefix("//").unwrap_or(path);
                    uri.pin = Some(PinSource::File(PathBuf::from(path)));
                }
                "sessions" => {
                    uri.sessions = value
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| bad(format!("sessions={value}: a positive number")))?
                }
                "module-name" => {
                    return Err(bad(
                        "module-name is not supported: give module-path, the library's full path"
                            .into(),
                    ))
                }
                other => return Err(bad(format!("unknown query attribute {other:?}"))),
            }
        }
        if uri.module_path.as_os_str().is_empty() {
            return Err(bad(
                "module-path is required (e.g. /usr/lib/softhsm/libsofthsm2.so)".into(),
            ));
        }
        if uri.token.is_none() && uri.slot_id.is_none() {
            return Err(bad("name the token (token=LABEL or slot-id=N)".into()));
        }
        if uri.object.is_none() && uri.id.is_none() {
            return Err(bad("name the key (object=LABEL or id=…)".into()));
        }
        Ok(uri)
    }
}

/// The initialised context of each module loaded by this process.
static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();

/// One initialised context per module and process: PKCS#11 allows `C_Initialize` once per
/// process, and every key in the same library shares it.
fn context(uri: &Pkcs11Uri) -> Result<Pkcs11, KeyError> {
    let mut contexts = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .expect("PKCS#11 context lock");
    if let Some(ctx) = contexts.get(&uri.module_path) {
        return Ok(ctx.clone());
    }
    let ctx =
        Pkcs11::new(&uri.module_path).map_err(|e| uri.error(format!("loading the module: {e}")))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(uri.error(format!("initialising the module: {e}"))),
    }
    contexts.insert(uri.module_path.clone(), ctx.clone());
    Ok(ctx)
}

/// Whether this process has loaded a PKCS#11 module (and so has [`finalize_modules`] to do).
pub fn modules_loaded() -> bool {
    CONTEXTS
        .get()
        .is_some_and(|contexts| !contexts.lock().expect("PKCS#11 context lock").is_empty())
}

/// Calls `C_Finalize` on every module this process loaded: for the very end of the process,
/// once every key that may still call the module has been dropped (a call after this may
/// bring the module's state back to life). A module left initialised tears itself down in its
/// library destructors at exit, and SoftHSM2's ran after OpenSSL's exit-time clean-up and
/// crashed now and then: `sigstack up` with its keys in a token ended with SIGSEGV after
/// printing `stopped`.
pub fn finalize_modules() {
    let Some(contexts) = CONTEXTS.get() else {
        return;
    };
    let modules: Vec<Pkcs11> = contexts
        .lock()
        .expect("PKCS#11 context lock")
        .drain()
        .map(|(_, ctx)| ctx)
        .collect();
    for ctx in modules {
        // At the end of the process there is nothing to do about a module that refuses it.
        let _ = ctx.finalize();
    }
}

fn find_slot(ctx: &Pkcs11, uri: &Pkcs11Uri) -> Result<Slot, KeyError> {
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| uri.error(format!("listing slots: {e}")))?;
    for slot in slots {
        if uri.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        if let Some(label) = &uri.token {
            let info = ctx
                .get_token_info(slot)
                .map_err(|e| uri.error(format!("reading token info: {e}")))?;
            if info.label().trim_end() != label {
                continue;
            }
        }
        return Ok(slot);
    }
    Err(uri.error("no such token"))
}

fn login(session: &Session, uri: &Pkcs11Uri) -> Result<(), KeyError> {
    let Some(pin) = uri.pin()? else {
        return Ok(());
    };
    match session.login(UserType::User, Some(&pin)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => Err(uri.error("wrong PIN")),
        Err(e) => Err(uri.error(format!("logging in: {e}"))),
    }
}

/// A session on the URI's token, logged in with its PIN (read-write to make objects).
fn logged_in_session(
    uri: &Pkcs11Uri,
    read_write: bool,
) -> Result<(Pkcs11, Slot, Session), KeyError> {
    let ctx = context(uri)?;
    let slot = find_slot(&ctx, uri)?;
    let session = if read_write {
        ctx.open_rw_session(slot)
    } else {
        ctx.open_ro_session(slot)
    }
    .map_err(|e| uri.error(format!("opening a session: {e}")))?;
    login(&session, uri)?;
    Ok((ctx, slot, session))
}

/// Whether the token holds a private key by the URI's label/id.
fn has_private_key(session: &Session, uri: &Pkcs11Uri) -> Result<bool, KeyError> {
    Ok(!session
        .find_objects(&key_template(uri, ObjectClass::PRIVATE_KEY))
        .map_err(|e| uri.error(format!("looking for the key: {e}")))?
        .is_empty())
}

fn key_template(uri: &Pkcs11Uri, class: ObjectClass) -> Vec<Attribute> {
    let mut template = vec![Attribute::Class(class)];
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    template
}

fn find_one(
    session: &Session,
    uri: &Pkcs11Uri,
    class: ObjectClass,
) -> Result<ObjectHandle, KeyError> {
    let what = if class == ObjectClass::PRIVATE_KEY {
        "private key"
    } else {
        "public key"
    };
    let found = session
        .find_objects(&key_template(uri, class))
        .map_err(|e| uri.error(format!("finding the {what}: {e}")))?;
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(uri.error(format!(
            "no {what} object with that label/id (is the PIN right?)"
        ))),
        _ => Err(uri.error(format!(
            "{} {what} objects match: name it by id as well",
            found.len()
        ))),
    }
}

/// The algorithm and DER SPKI of the public key object.
fn public_key(
    session: &Session,
    uri: &Pkcs11Uri,
    handle: ObjectHandle,
) -> Result<(Algorithm, Vec<u8>), KeyError> {
    let attrs = session
        .get_attributes(
            handle,
            &[
                AttributeType::KeyType,
                AttributeType::EcParams,
                AttributeType::EcPoint,
            ],
        )
        .map_err(|e| uri.error(format!("reading the public key: {e}")))?;
    let (mut key_type, mut params, mut point) = (None, None, None);
    for a in attrs {
        match a {
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::EcParams(p) => params = Some(p),
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    let (Some(params), Some(point)) = (params, point) else {
        return Err(uri.error("the key is not an EC or EdDSA key (no EC_PARAMS/EC_POINT)"));
    };
    // CKA_EC_POINT is a DER OCTET STRING around the point; some tokens give the bare point.
    let point = match point.as_slice() {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() => rest.to_vec(),
        [0x04, 0x81, len, rest @ ..] if usize::from(*len) == rest.len() => rest.to_vec(),
        _ => point,
    };
    let malformed = |e: &dyn std::fmt::Display| uri.error(format!("the public key: {e}"));
    let spki = match params.as_slice() {
        P256_PARAMS => (
            Algorithm::EcdsaP256Sha256,
            p256::PublicKey::from_sec1_bytes(&point)
                .map_err(|e| malformed(&e))?
                .to_public_key_der(),
        ),
        P384_PARAMS => (
            Algorithm::EcdsaP384Sha384,
            p384::PublicKey::from_sec1_bytes(&point)
                .map_err(|e| malformed(&e))?
                .to_public_key_der(),
        ),
        ED25519_PARAMS | ED25519_PARAMS_NAME => {
            let raw: [u8; 32] = point
                .as_slice()
                .try_into()
                .map_err(|_| uri.error("an Ed25519 point is 32 bytes"))?;
            (
                Algorithm::Ed25519,
                ed25519_dalek::VerifyingKey::from_bytes(&raw)
                    .map_err(|e| malformed(&e))?
                    .to_public_key_der(),
            )
        }
        _ => {
            return Err(uri.error(format!(
                "unsupported key (type {key_type:?}): only P-256, P-384 and Ed25519 sign here"
            )))
        }
    };
    let (algorithm, der) = spki;
    Ok((algorithm, der.map_err(|e| malformed(&e))?.into_vec()))
}

/// Sessions of one token, opened as needed up to a bound and reused.
struct SessionPool {
    ctx: Pkcs11,
    slot: Slot,
    idle: Mutex<(Vec<Session>, usize)>,
    returned: Condvar,
    max: usize,
}

impl SessionPool {
    fn take(&self, uri: &Pkcs11Uri) -> Result<Session, KeyError> {
        let mut state = self.idle.lock().expect("session pool lock");
        loop {
            if let Some(session) = state.0.pop() {
                return Ok(session);
            }
            if state.1 < self.max {
                state.1 += 1;
                drop(state);
                let opened = self
                    .ctx
                    .open_ro_session(self.slot)
                    .map_err(|e| uri.error(format!("opening a session: {e}")));
                if opened.is_err() {
                    self.idle.lock().expect("session pool lock").1 -= 1;
                    self.returned.notify_one();
                }
                return opened;
            }
            state = self.returned.wait(state).expect("session pool lock");
        }
    }

    fn give_back(&self, session: Session) {
        self.idle.lock().expect("session pool lock").0.push(session);
        self.returned.notify_one();
    }

    /// Drops a session that failed (the token may have been reset): a new one is opened next.
    fn discard(&self, session: Session) {
        drop(session);
        self.idle.lock().expect("session pool lock").1 -= 1;
        self.returned.notify_one();
    }
}

/// A signing key in a PKCS#11 token.
pub struct Pkcs11Key {
    uri: Pkcs11Uri,
    algorithm: Algorithm,
    public_der: Vec<u8>,
    key: ObjectHandle,
    pool: SessionPool,
}

impl std::fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("uri", &self.uri.to_string())
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Key {
    /// Opens the key the URI names: loads the module, finds the token, logs in, finds the
    /// private key and its public key, and checks that the two belong together by signing.
    pub fn open(uri: &Pkcs11Uri) -> Result<Self, KeyError> {
        let (ctx, slot, session) = logged_in_session(uri, false)?;
        let key = find_one(&session, uri, ObjectClass::PRIVATE_KEY)?;
        let public = find_one(&session, uri, ObjectClass::PUBLIC_KEY)?;
        let (algorithm, public_der) = public_key(&session, uri, public)?;
        let opened = Self {
            uri: uri.clone(),
            algorithm,
            public_der,
            key,
            pool: SessionPool {
                ctx,
                slot,
                idle: Mutex::new((vec![session], 1)),
                returned: Condvar::new(),
                max: uri.sessions,
            },
        };
        crate::check_signer(&opened).map_err(|e| {
            uri.error(format!(
                "the private key does not sign for its public key object: {e}"
            ))
        })?;
        Ok(opened)
    }

    /// Generates a key pair inside the token, labelled with the URI's `object` (and `id`):
    /// the private key sensitive and not extractable, so it never leaves the token.
    pub fn generate(uri: &Pkcs11Uri, algorithm: Algorithm) -> Result<Self, KeyError> {
        let (_, _, session) = logged_in_session(uri, true)?;
        if has_private_key(&session, uri)? {
            return Err(uri.error("a key with that label/id exists already; nothing generated"));
        }
        let (mechanism, params) = match algorithm {
            Algorithm::EcdsaP256Sha256 => (Mechanism::EccKeyPairGen, P256_PARAMS),
            Algorithm::EcdsaP384Sha384 => (Mechanism::EccKeyPairGen, P384_PARAMS),
            Algorithm::Ed25519 => (Mechanism::EccEdwardsKeyPairGen, ED25519_PARAMS),
        };
        let mut public = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(params.to_vec()),
        ];
        let mut private = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sign(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
        ];
        for template in [&mut public, &mut private] {
            if let Some(label) = &uri.object {
                template.push(Attribute::Label(label.as_bytes().to_vec()));
            }
            if let Some(id) = &uri.id {
                template.push(Attribute::Id(id.clone()));
            }
        }
        session
            .generate_key_pair(&mechanism, &public, &private)
            .map_err(|e| uri.error(format!("generating the key pair: {e}")))?;
        drop(session);
        Self::open(uri)
    }

    /// Opens the key, generating it in the token first if the token has none by that name:
    /// for `sigstack up` with its keys in a token, never for a production command.
    pub fn open_or_generate(uri: &Pkcs11Uri, algorithm: Algorithm) -> Result<Self, KeyError> {
        let (_, _, session) = logged_in_session(uri, false)?;
        let exists = has_private_key(&session, uri)?;
        drop(session);
        if exists {
            Self::open(uri)
        } else {
            Self::generate(uri, algorithm)
        }
    }

    /// Renames the key pair the URI names (its private and public objects) to `label`, in
    /// place: how a key in a token is retired without being destroyed, so that a new key can
    /// take its name while the old one stays usable under the new label.
    pub fn relabel(uri: &Pkcs11Uri, label: &str) -> Result<(), KeyError> {
        let (_, _, session) = logged_in_session(uri, true)?;
        // Two keys under one label could no longer be told apart by it: refused, as generating
        // over an existing key is.
        let target = Pkcs11Uri {
            object: Some(label.to_owned()),
            id: None,
            ..uri.clone()
        };
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            let taken = session
                .find_objects(&key_template(&target, class))
                .map_err(|e| uri.error(format!("looking for the label {label}: {e}")))?;
            if !taken.is_empty() {
                return Err(uri.error(format!(
                    "a key labelled {label} exists already; nothing relabelled"
                )));
            }
        }
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            let object = find_one(&session, uri, class)?;
            session
                .update_attributes(object, &[Attribute::Label(label.as_bytes().to_vec())])
                .map_err(|e| uri.error(format!("relabelling the key: {e}")))?;
        }
        Ok(())
    }

    /// Whether the token holds a private key by the URI's label/id.
    pub fn exists(uri: &Pkcs11Uri) -> Result<bool, KeyError> {
        let (_, _, session) = logged_in_session(uri, false)?;
        has_private_key(&session, uri)
    }

    /// The URI the key was opened by (without a PIN value).
    pub fn uri(&self) -> &Pkcs11Uri {
        &self.uri
    }

    fn sign_on(&self, session: &Session, message: &[u8]) -> Result<Vec<u8>, CkError> {
        match self.algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let raw =
                    session.sign(&Mechanism::Ecdsa, self.key, &sha2::Sha256::digest(message))?;
                Ok(p256::ecdsa::Signature::from_slice(&raw)
                    .map(|s| s.to_der().as_bytes().to_vec())
                    .unwrap_or_default())
            }
            Algorithm::EcdsaP384Sha384 => {
                let raw =
                    session.sign(&Mechanism::Ecdsa, self.key, &sha2::Sha384::digest(message))?;
                Ok(p384::ecdsa::Signature::from_slice(&raw)
                    .map(|s| s.to_der().as_bytes().to_vec())
                    .unwrap_or_default())
            }
            Algorithm::Ed25519 => session.sign(
                &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                self.key,
                message,
            ),
        }
    }
}

impl Signer for Pkcs11Key {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn public_key_der(&self) -> &[u8] {
        &self.public_der
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let session = self.pool.take(&self.uri)?;
        match self.sign_on(&session, message) {
            Ok(sig) if !sig.is_empty() => {
                self.pool.give_back(session);
                Ok(sig)
            }
            Ok(_) => {
                self.pool.give_back(session);
                Err(KeyError::Signing(format!(
                    "{}: the token returned a malformed ECDSA signature",
                    self.uri
                )))
            }
            // The token forgot the login (restarted, or another application logged out):
            // log in again once and retry on a fresh session.
            Err(CkError::Pkcs11(RvError::UserNotLoggedIn, _)) => {
                self.pool.discard(session);
                let session = self.pool.take(&self.uri)?;
                login(&session, &self.uri)?;
                let result = self.sign_on(&session, message);
                self.pool.give_back(session);
                result.map_err(|e| KeyError::Signing(format!("{}: {e}", self.uri)))
            }
            Err(e) => {
                self.pool.discard(session);
                Err(KeyError::Signing(format!("{}: {e}", self.uri)))
            }
        }
    }
}

/// The module path of SoftHSM2 where Debian and most distributions install it, if present.
pub fn softhsm2_module() -> Option<&'static Path> {
    [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
    ]
    .into_iter()
    .map(Path::new)
    .find(|p| p.exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse_and_never_show_a_pin_value() {
        let uri: Pkcs11Uri = "pkcs11:token=sigstack%20ca;object=ca;id=%01%02?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234&sessions=4"
            .parse()
            .unwrap();
        assert_eq!(uri.token.as_deref(), Some("sigstack ca"));
        assert_eq!(uri.object(), Some("ca"));
        assert_eq!(uri.id.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(uri.sessions, 4);
        let shown = uri.to_string();
        assert!(!shown.contains("1234"), "{shown}");
        assert_eq!(
            shown,
            "pkcs11:token=sigstack%20ca;object=ca;id=%01%02?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=(hidden)"
        );
        let uri: Pkcs11Uri =
            "pkcs11:slot-id=3;object=k?module-path=/m.so&pin-source=file:///run/pin"
                .parse()
                .unwrap();
        assert!(matches!(&uri.pin, Some(PinSource::File(p)) if p == Path::new("/run/pin")));
        assert_eq!(uri.slot_id, Some(3));
    }

    #[test]
    fn the_object_of_a_uri_is_replaced_keeping_the_rest() {
        let spec = "pkcs11:token=t;object=ctlog?module-path=/m.so&pin-source=file:/p";
        assert_eq!(
            Pkcs11Uri::with_object(spec, "retired-1 ctlog"),
            "pkcs11:token=t;object=retired%2D1%20ctlog?module-path=/m.so&pin-source=file:/p"
        );
        let parsed: Pkcs11Uri = Pkcs11Uri::with_object(spec, "retired-1 ctlog")
            .parse()
            .unwrap();
        assert_eq!(parsed.object(), Some("retired-1 ctlog"));
    }

    #[test]
    fn incomplete_uris_say_what_is_missing() {
        for (uri, want) in [
            ("pkcs11:token=t;object=o", "module-path"),
            ("pkcs11:object=o?module-path=/m.so", "token"),
            ("pkcs11:token=t?module-path=/m.so", "object"),
            (
                "pkcs11:token=t;object=o;colour=red?module-path=/m.so",
                "colour",
            ),
            (
                "pkcs11:token=t;object=o?module-path=/m.so&sessions=0",
                "sessions",
            ),
            (
                "pkcs11:token=t;object=o?module-name=softhsm2",
                "module-path",
            ),
        ] {
            let err = uri.parse::<Pkcs11Uri>().unwrap_err().to_string();
            assert!(err.contains(want), "{uri}: {err}");
        }
        let err = "pkcs11:token=t?pin-value=secret"
            .parse::<Pkcs11Uri>()
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
    }
}
