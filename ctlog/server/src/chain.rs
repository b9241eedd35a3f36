//! Chain validation for `add-chain` and `add-pre-chain` (RFC 6962 section 4.1): pure, no I/O.

use ct::{Asn1Cert, SignedEntry};
use der::Decode;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

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
    pub issuers: Vec<Vec<u8>>,
    /// The leaf's notAfter (Unix seconds): what a temporal shard's window is about.
    pub leaf_not_after: u64,
}

impl ValidChain {
    /// SHA-256 fingerprints of the issuers, as static-ct-api data tiles list them.
    pub fn issuer_fingerprints(&self) -> Vec<[u8; 32]> {
        self.issuers
            .iter()
            .map(|c| Sha256::digest(c).into())
            .collect()
    }

    /// What makes two submissions the same entry: the kind and the exact chain submitted.
    pub fn identity(&self, kind: ChainKind) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(match kind {
            ChainKind::X509 => b"x509_entry".as_slice(),
            ChainKind::Precert => b"precert_entry".as_slice(),
        });
        for cert in std::iter::once(&self.leaf).chain(&self.issuers) {
            h.update((cert.len() as u64).to_be_bytes());
            h.update(cert);
        }
        h.finalize().into()
    }
}

/// Allowed clock difference when checking `notBefore`: a CA's clock may run a little ahead.
pub const CLOCK_SKEW_SECS: u64 = 300;

fn validity(cert: &Certificate) -> (u64, u64) {
    let v = &cert.tbs_certificate.validity;
    (
        v.not_before.to_unix_duration().as_secs(),
        v.not_after.to_unix_duration().as_secs(),
    )
}

/// Validates a submitted chain against the accepted roots at time `now` (Unix seconds).
pub fn validate_chain(
    kind: ChainKind,
    chain: Vec<Vec<u8>>,
    roots: &[Vec<u8>],
    now: u64,
) -> Result<ValidChain, ChainError> {
    if chain.is_empty() {
        return Err(ChainError::Empty);
    }
    if chain.len() > MAX_CHAIN_LENGTH {
        return Err(ChainError::TooLong(chain.len()));
    }
    let mut parsed = Vec::with_capacity(chain.len());
    for (index, der) in chain.iter().enumerate() {
        let cert = Certificate::from_der(der).map_err(|e| ChainError::NotACertificate {
            index,
            reason: e.to_string(),
        })?;
        parsed.push(cert);
    }
    for (index, cert) in parsed.iter().enumerate() {
        let (not_before, not_after) = validity(cert);
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
    let poisoned = ct::has_poison(&chain[0]).map_err(|e| ChainError::NotACertificate {
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
    for index in 0..chain.len() - 1 {
        ct::verify_issued_by(&chain[index], &chain[index + 1]).map_err(|e| {
            ChainError::BadSignature {
                index,
                reason: e.to_string(),
            }
        })?;
    }
    // The chain must end in an accepted root, or directly below one (then the root is added,
    // as RFC 6962 asks logs to return the full chain).
    let last = chain.last().expect("non-empty");
    let mut issuers: Vec<Vec<u8>> = chain[1..].to_vec();
    if !roots.iter().any(|r| r == last) {
        let root = roots
            .iter()
            .find(|root| ct::verify_issued_by(last, root).is_ok())
            .ok_or(ChainError::UnknownRoot)?;
        issuers.push(root.clone());
    }
    if kind == ChainKind::Precert && issuers.is_empty() {
        return Err(ChainError::NotAPrecertificate(
            "a precertificate cannot be its own root".into(),
        ));
    }
    let leaf_not_after = validity(&parsed[0]).1;
    let leaf = chain.into_iter().next().expect("non-empty");
    let signed_entry = match kind {
        ChainKind::X509 => SignedEntry::X509(Asn1Cert::new(leaf.clone()).map_err(|e| {
            ChainError::NotACertificate {
                index: 0,
                reason: e.to_string(),
            }
        })?),
        ChainKind::Precert => {
            let tbs = ct::precert_tbs_from_precert(&leaf)
                .map_err(|e| ChainError::NotAPrecertificate(e.to_string()))?;
            SignedEntry::Precert {
                issuer_key_hash: ct::issuer_key_hash(&issuers[0]).map_err(|e| {
                    ChainError::NotACertificate {
                        index: 1,
                        reason: e.to_string(),
                    }
                })?,
                tbs_certificate: Asn1Cert::new(tbs)
                    .map_err(|e| ChainError::NotAPrecertificate(e.to_string()))?,
            }
        }
    };
    Ok(ValidChain {
        signed_entry,
        leaf,
        issuers,
        leaf_not_after,
    })
}
