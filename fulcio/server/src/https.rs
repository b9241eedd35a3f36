//! Whom Fulcio's outbound HTTPS trusts: the system's certificate store (where an organisation
//! installs its private roots, and what `ca-certificates` keeps current), plus CA certificates
//! the operator names ([`ExtraRoots`]: for every issuer and the CT log, or one issuer's
//! `ca-cert`).

/// CA certificates trusted beside the system's store.
#[derive(Clone, Debug, Default)]
pub struct ExtraRoots(Vec<reqwest::Certificate>);

/// Why CA certificates could not be used.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ExtraRootsError {
    /// The text holds no PEM certificate block.
    #[error("no PEM certificate in it")]
    NoCertificate,
    /// A PEM block is not an X.509 certificate.
    #[error("not a PEM certificate: {0}")]
    NotPem(String),
    /// The TLS library does not take a certificate as a trust anchor.
    #[error("not usable as a CA certificate: {0}")]
    Unusable(String),
}

impl ExtraRoots {
    /// Every certificate of a PEM text (one file may hold several CAs).
    pub fn from_pem(pem: &[u8]) -> Result<Self, ExtraRootsError> {
        use x509_cert::der::Encode as _;
        // reqwest takes text without any certificate in it silently, and x509-cert's
        // `load_pem_chain` panics on it: answer that case first.
        if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(ExtraRootsError::NoCertificate);
        }
        let certs = x509_cert::Certificate::load_pem_chain(pem)
            .map_err(|e| ExtraRootsError::NotPem(e.to_string()))?;
        let mut roots = Vec::with_capacity(certs.len());
        for cert in certs {
            let der = cert
                .to_der()
                .map_err(|e| ExtraRootsError::NotPem(e.to_string()))?;
            roots.push(
                reqwest::Certificate::from_der(&der)
                    .map_err(|e| ExtraRootsError::NotPem(error_chain(&e)))?,
            );
        }
        let roots = Self(roots);
        // The TLS library parses trust anchors only when a client is built: try it now, so
        // that a certificate it refuses is reported where it is named, not at the first fetch.
        roots
            .apply(reqwest::Client::builder())
            .build()
            .map_err(|e| ExtraRootsError::Unusable(error_chain(&e)))?;
        Ok(roots)
    }

    /// These and `other`'s certificates.
    pub fn extend(&mut self, other: ExtraRoots) {
        self.0.extend(other.0);
    }

    /// How many certificates.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `builder` trusting these certificates too.
    pub(crate) fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        self.0
            .iter()
            .fold(builder, |b, cert| b.add_root_certificate(cert.clone()))
    }
}

/// An error and its causes on one line: reqwest's own message says only "error sending
/// request", the reason (e.g. "invalid peer certificate: UnknownIssuer") is in its sources.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // hyper and reqwest sometimes repeat the message of the error they wrap.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
