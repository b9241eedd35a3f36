//! Chain validation for `add-chain` and `add-pre-chain` (RFC 6962 section 4.1): pure, no I/O.

use ct::{Asn1Cert, IssuerCertificate, ParsedCertificate, SignedEntry};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The most certificates a submitted chain may hold.
pub const MAX_CHAIN_LENGTH: usize = 10;

/// Which endpoint a chain came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainKind {
    /// `add-chain`: a final certificate, which must not carry the CT poison.
    X509,
    /// `add-pre-chain`: a precertificate, which must carry the critical CT poison.
    Precert,
}

/// Why a chain was refused. Each message says what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The chain is empty.
    #[error("chain is empty: it must start with the certificate to log")]
    Empty,
    /// The chain is longer than the log accepts.
    #[error("chain has {0} certificates; at most {MAX_CHAIN_LENGTH} are accepted")]
    TooLong(usize),
    /// A certificate is not DER X.509.
    #[error("chain[{index}] is not a DER X.509 certificate: {reason}")]
    NotACertificate {
        /// Position in the chain.
        index: usize,
        /// The parser's complaint.
        reason: String,
    },
    /// `add-chain` got a precertificate.
    #[error("chain[0] carries the CT poison extension: submit precertificates to add-pre-chain")]
    UnexpectedPoison,
    /// `add-pre-chain` got a certificate without (critical) poison.
    #[error("chain[0] is not a precertificate: {0}")]
    NotAPrecertificate(String),
    /// A certificate is not signed by the next one.
    #[error("chain[{index}] is not signed by chain[{}]: {reason}", index + 1)]
    BadSignature {
        /// The certificate whose signature failed.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The chain does not end at (or directly below) an accepted root.
    #[error("chain does not end in a root this log accepts (see get-roots)")]
    UnknownRoot,
    /// A certificate is outside its validity period.
    #[error("chain[{index}] is {state}: valid from {not_before} to {not_after} (Unix seconds), now {now}")]
    NotValidNow {
        /// Position in the chain.
        index: usize,
        /// "expired" or "not yet valid".
        state: &'static str,
        /// Start of validity, Unix seconds.
        not_before: u64,
        /// End of validity, Unix seconds.
        not_after: u64,
        /// The log's clock, Unix seconds.
        now: u64,
    },
}

/// A validated chain: what to log and what to answer with.
#[derive(Debug, Clone)]
pub struct ValidChain {
    /// The entry the SCT covers.
    pub signed_entry: SignedEntry,
    /// The submitted leaf (the precertificate, for `add-pre-chain`).
    pub leaf: Vec<u8>,
    /// The issuers, leaf's issuer first, ending with the accepted root.
    pub issuers: Vec<Arc<IssuerCertificate>>,
    /// The leaf's notAfter (Unix seconds): what a temporal shard's window is about.
    pub leaf_not_after: u64,
}

impl ValidChain {
    /// SHA-256 fingerprints of the issuers, as static-ct-api data tiles list them.
    pub fn issuer_fingerprints(&self) -> Vec<[u8; 32]> {
        self.issuers.iter().map(|c| c.fingerprint()).collect()
    }

    /// What makes two submissions the same entry: the kind and the exact chain submitted.
    pub fn identity(&self, kind: ChainKind) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(match kind {
            ChainKind::X509 => b"x509_entry".as_slice(),
            ChainKind::Precert => b"precert_entry".as_slice(),
        });
        let issuers = self.issuers.iter().map(|c| c.certificate().der());
        for cert in std::iter::once(self.leaf.as_slice()).chain(issuers) {
            h.update((cert.len() as u64).to_be_bytes());
            h.update(cert);
        }
        h.finalize().into()
    }
}

/// Allowed clock difference when checking `notBefore`: a CA's clock may run a little ahead.
pub const CLOCK_SKEW_SECS: u64 = 300;

/// The accepted roots, and the intermediates of chains validated before, each parsed once and
/// found by its SHA-256: a log sees the same few issuers in every chain submitted to it.
#[derive(Debug)]
pub struct Issuers {
    roots: Vec<Arc<IssuerCertificate>>,
    /// Intermediates of chains that validated, at most [`MAX_CACHED_INTERMEDIATES`]: only a
    /// chain ending in an accepted root adds one, so only certificates a root's CA issued.
    intermediates: Mutex<HashMap<[u8; 32], Intermediate>>,
}

/// A known intermediate, and the fingerprint of the issuer whose signature on it was verified
/// (a signature check depends on the two certificates only, so it need not be made again).
#[derive(Debug, Clone)]
struct Intermediate {
    certificate: Arc<IssuerCertificate>,
    signed_by: [u8; 32],
}

/// Most intermediates [`Issuers`] keeps parsed; when full it starts over (a CA hierarchy has
/// a handful, so this only bounds what a flood of distinct valid intermediates could take).
pub const MAX_CACHED_INTERMEDIATES: usize = 256;

impl Issuers {
    /// The roots a log accepts, DER; fails with the index of one that is not a certificate.
    pub fn new(roots: &[Vec<u8>]) -> Result<Self, usize> {
        let roots = roots
            .iter()
            .enumerate()
            .map(|(index, der)| {
                IssuerCertificate::parse(der.clone())
                    .map(Arc::new)
                    .map_err(|_| index)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            roots,
            intermediates: Mutex::new(HashMap::new()),
        })
    }

    /// The accepted root with this fingerprint.
    fn root(&self, fingerprint: &[u8; 32]) -> Option<&Arc<IssuerCertificate>> {
        self.roots.iter().find(|r| r.fingerprint() == *fingerprint)
    }

    /// Chain certificate `der` (at `index`) as an issuer: a root or a cached intermediate, or
    /// parsed now.
    fn get_or_parse(
        &self,
        index: usize,
        der: Vec<u8>,
    ) -> Result<Arc<IssuerCertificate>, ChainError> {
        let fingerprint: [u8; 32] = Sha256::digest(&der).into();
        if let Some(root) = self.root(&fingerprint) {
            return Ok(root.clone());
        }
        if let Some(known) = self.cached(&fingerprint) {
            return Ok(known);
        }
        IssuerCertificate::parse(der)
            .map(Arc::new)
            .map_err(|e| ChainError::NotACertificate {
                index,
                reason: e.to_string(),
            })
    }

    fn cached(&self, fingerprint: &[u8; 32]) -> Option<Arc<IssuerCertificate>> {
        self.intermediates
            .lock()
            .expect("intermediate cache")
            .get(fingerprint)
            .map(|known| known.certificate.clone())
    }

    /// Whether `child` is a known intermediate whose signature by `parent` was verified.
    fn verified(&self, child: &IssuerCertificate, parent: &IssuerCertificate) -> bool {
        self.intermediates
            .lock()
            .expect("intermediate cache")
            .get(&child.fingerprint())
            .is_some_and(|known| known.signed_by == parent.fingerprint())
    }

    /// Keeps the intermediates of a validated chain (`issuers`, each signed by the next, the
    /// last an accepted root).
    fn remember(&self, issuers: &[Arc<IssuerCertificate>]) {
        let mut cache = self.intermediates.lock().expect("intermediate cache");
        for pair in issuers.windows(2) {
            let (issuer, parent) = (&pair[0], &pair[1]);
            let fingerprint = issuer.fingerprint();
            if self.root(&fingerprint).is_some() || cache.contains_key(&fingerprint) {
                continue;
            }
            if cache.len() >= MAX_CACHED_INTERMEDIATES {
                cache.clear();
            }
            let known = Intermediate {
                certificate: issuer.clone(),
                signed_by: parent.fingerprint(),
            };
            cache.insert(fingerprint, known);
        }
    }
}

/// Validates a submitted chain against the accepted roots at time `now` (Unix seconds). Each
/// certificate is parsed once; roots and known intermediates not at all.
pub fn validate_chain(
    kind: ChainKind,
    chain: Vec<Vec<u8>>,
    known: &Issuers,
    now: u64,
) -> Result<ValidChain, ChainError> {
    if chain.is_empty() {
        return Err(ChainError::Empty);
    }
    if chain.len() > MAX_CHAIN_LENGTH {
        return Err(ChainError::TooLong(chain.len()));
    }
    let mut ders = chain.into_iter();
    let leaf = ParsedCertificate::parse(ders.next().expect("non-empty")).map_err(|e| {
        ChainError::NotACertificate {
            index: 0,
            reason: e.to_string(),
        }
    })?;
    let mut issuers = ders
        .enumerate()
        .map(|(i, der)| known.get_or_parse(i + 1, der))
        .collect::<Result<Vec<_>, _>>()?;
    let validities =
        std::iter::once(leaf.validity()).chain(issuers.iter().map(|i| i.certificate().validity()));
    for (index, (not_before, not_after)) in validities.enumerate() {
        let state = if now > not_after {
            Some("expired")
        } else if now + CLOCK_SKEW_SECS < not_before {
            Some("not yet valid")
        } else {
            None
        };
        if let Some(state) = state {
            return Err(ChainError::NotValidNow {
                index,
                state,
                not_before,
                not_after,
                now,
            });
        }
    }
    let poisoned = leaf.has_poison().map_err(|e| ChainError::NotACertificate {
        index: 0,
        reason: e.to_string(),
    })?;
    match kind {
        ChainKind::X509 if poisoned => return Err(ChainError::UnexpectedPoison),
        ChainKind::Precert if !poisoned => {
            return Err(ChainError::NotAPrecertificate(
                "it has no CT poison extension (1.3.6.1.4.1.11129.2.4.3)".into(),
            ))
        }
        _ => {}
    }
    // chain[index] must be signed by chain[index + 1].
    let signature_of = |index: usize| match index {
        0 => leaf.signature(),
        i => issuers[i - 1].certificate().signature(),
    };
    for (index, issuer) in issuers.iter().enumerate() {
        if index > 0 && known.verified(&issuers[index - 1], issuer) {
            continue;
        }
        signature_of(index)
            .and_then(|signed| issuer.verify_issued(&signed))
            .map_err(|e| ChainError::BadSignature {
                index,
                reason: e.to_string(),
            })?;
    }
    // The chain must end in an accepted root, or directly below one (then the root is added,
    // as RFC 6962 asks logs to return the full chain).
    let last_fingerprint = match issuers.last() {
        Some(last) => last.fingerprint(),
        None => Sha256::digest(leaf.der()).into(),
    };
    if known.root(&last_fingerprint).is_none() {
        let last_signed = signature_of(issuers.len()).map_err(|_| ChainError::UnknownRoot)?;
        let root = known
            .roots
            .iter()
            .find(|root| root.verify_issued(&last_signed).is_ok())
            .ok_or(ChainError::UnknownRoot)?;
        issuers.push(root.clone());
    }
    if kind == ChainKind::Precert && issuers.is_empty() {
        return Err(ChainError::NotAPrecertificate(
            "a precertificate cannot be its own root".into(),
        ));
    }
    known.remember(&issuers);
    let leaf_not_after = leaf.validity().1;
    let signed_entry = match kind {
        ChainKind::X509 => SignedEntry::X509(Asn1Cert::new(leaf.der().to_vec()).map_err(|e| {
            ChainError::NotACertificate {
                index: 0,
                reason: e.to_string(),
            }
        })?),
        ChainKind::Precert => SignedEntry::Precert {
            issuer_key_hash: issuers[0].key_hash(),
            tbs_certificate: leaf
                .precert_tbs()
                .and_then(Asn1Cert::new)
                .map_err(|e| ChainError::NotAPrecertificate(e.to_string()))?,
        },
    };
    Ok(ValidChain {
        signed_entry,
        leaf: leaf.into_der(),
        issuers,
        leaf_not_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, KeyPair};

    struct Ca {
        cert: rcgen::Certificate,
        key: KeyPair,
    }

    const NOW: u64 = 1_800_000_000;

    fn params(name: &str, ca: bool, poison: bool) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        if ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        let at = |secs: u64| time::OffsetDateTime::from_unix_timestamp(secs as i64).unwrap();
        p.not_before = at(NOW - 3600);
        p.not_after = at(NOW + 3600);
        if poison {
            let mut ext = CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 3],
                vec![0x05, 0x00],
            );
            ext.set_criticality(true);
            p.custom_extensions = vec![ext];
        }
        p
    }

    fn key() -> KeyPair {
        KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap()
    }

    fn root(name: &str) -> Ca {
        let key = key();
        let cert = params(name, true, false).self_signed(&key).unwrap();
        Ca { cert, key }
    }

    fn issue(by: &Ca, name: &str, ca: bool, poison: bool) -> (Vec<u8>, Ca) {
        let key = key();
        let cert = params(name, ca, poison)
            .signed_by(&key, &by.cert, &by.key)
            .unwrap();
        (cert.der().to_vec(), Ca { cert, key })
    }

    fn cached(issuers: &Issuers) -> usize {
        issuers.intermediates.lock().unwrap().len()
    }

    #[test]
    fn intermediates_are_kept_once_a_chain_through_them_validated() {
        let root = root("root");
        let root_der = root.cert.der().to_vec();
        let (intermediate_der, intermediate) = issue(&root, "intermediate", true, false);
        let issuers = Issuers::new(std::slice::from_ref(&root_der)).unwrap();

        // An intermediate of another root: parsed, refused, not kept.
        let stranger = self::root("stranger");
        let (stranger_intermediate, stranger_ca) = issue(&stranger, "other", true, false);
        let (leaf, _) = issue(&stranger_ca, "leaf", false, true);
        assert_eq!(
            validate_chain(
                ChainKind::Precert,
                vec![leaf, stranger_intermediate],
                &issuers,
                NOW
            )
            .unwrap_err(),
            ChainError::UnknownRoot
        );
        assert_eq!(cached(&issuers), 0);

        // Through the intermediate, without the root (added) and with it: the same entry,
        // whether the intermediate was parsed now or taken from the cache.
        let (precert, _) = issue(&intermediate, "leaf", false, true);
        let first = validate_chain(
            ChainKind::Precert,
            vec![precert.clone(), intermediate_der.clone()],
            &issuers,
            NOW,
        )
        .unwrap();
        assert_eq!(cached(&issuers), 1);
        let again = validate_chain(
            ChainKind::Precert,
            vec![precert.clone(), intermediate_der.clone(), root_der.clone()],
            &issuers,
            NOW,
        )
        .unwrap();
        assert_eq!(cached(&issuers), 1);
        for valid in [&first, &again] {
            let ders: Vec<&[u8]> = valid
                .issuers
                .iter()
                .map(|i| i.certificate().der())
                .collect();
            assert_eq!(ders, [&intermediate_der[..], &root_der[..]]);
            assert_eq!(valid.leaf, precert);
        }
        assert_eq!(
            first.signed_entry.clone(),
            again.signed_entry.clone(),
            "the entry does not depend on the cache"
        );
        assert_eq!(
            first.issuer_fingerprints(),
            vec![
                <[u8; 32]>::from(Sha256::digest(&intermediate_der)),
                <[u8; 32]>::from(Sha256::digest(&root_der)),
            ]
        );

        // Its signature is checked once per issuer that follows it: another accepted root
        // after it is refused.
        let stranger_der = stranger.cert.der().to_vec();
        let two_roots = Issuers::new(&[root_der.clone(), stranger_der.clone()]).unwrap();
        validate_chain(
            ChainKind::Precert,
            vec![precert.clone(), intermediate_der.clone()],
            &two_roots,
            NOW,
        )
        .unwrap();
        assert!(matches!(
            validate_chain(
                ChainKind::Precert,
                vec![precert.clone(), intermediate_der.clone(), stranger_der],
                &two_roots,
                NOW
            ),
            Err(ChainError::BadSignature { index: 1, .. })
        ));

        // A cached intermediate still has to be valid now and to have signed the leaf.
        let (foreign, _) = issue(&stranger_ca, "leaf", false, true);
        assert!(matches!(
            validate_chain(
                ChainKind::Precert,
                vec![foreign, intermediate_der.clone()],
                &issuers,
                NOW
            ),
            Err(ChainError::BadSignature { index: 0, .. })
        ));
        assert!(matches!(
            validate_chain(
                ChainKind::Precert,
                vec![precert, intermediate_der],
                &issuers,
                NOW + 2 * 3600
            ),
            Err(ChainError::NotValidNow { index: 0, .. })
        ));
    }

    #[test]
    fn the_cache_of_intermediates_is_bounded() {
        let root = root("root");
        let root_der = root.cert.der().to_vec();
        let issuers = Issuers::new(std::slice::from_ref(&root_der)).unwrap();
        for i in 0..MAX_CACHED_INTERMEDIATES + 1 {
            let (intermediate_der, intermediate) = issue(&root, &format!("ca {i}"), true, false);
            let (leaf, _) = issue(&intermediate, "leaf", false, false);
            validate_chain(ChainKind::X509, vec![leaf, intermediate_der], &issuers, NOW).unwrap();
            assert!(cached(&issuers) <= MAX_CACHED_INTERMEDIATES);
        }
        assert_eq!(cached(&issuers), 1);
        assert!(Issuers::new(&[root_der, b"junk".to_vec()]).is_err_and(|index| index == 1));
    }
}
