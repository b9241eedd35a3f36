//! RFC 6962 section 3.4 log entries: what a log stores and hashes into its Merkle tree.

use std::fmt;

use crate::tls::{self, Reader, MAX_U16, MAX_U24};
use crate::CtError;

/// RFC 6962 `LogEntryType`: whether an entry logs a certificate or a precertificate.
///
/// Encoded as a TLS `uint16`; any other value is rejected when parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogEntryType {
    /// `x509_entry(0)`: an ordinary certificate.
    X509Entry = 0,
    /// `precert_entry(1)`: a precertificate, logged as its issuer's key hash and TBS.
    PrecertEntry = 1,
}

impl LogEntryType {
    /// The wire value.
    pub fn value(self) -> u16 {
        self as u16
    }
}

impl TryFrom<u16> for LogEntryType {
    type Error = CtError;
    fn try_from(value: u16) -> Result<Self, CtError> {
        match value {
            0 => Ok(LogEntryType::X509Entry),
            1 => Ok(LogEntryType::PrecertEntry),
            other => Err(CtError::UnknownValue {
                what: "LogEntryType",
                value: other.into(),
            }),
        }
    }
}

/// A DER blob in a TLS `opaque <1..2^24-1>` field: RFC 6962's `ASN.1Cert`, and also the
/// `TBSCertificate` of a precertificate entry, which has the same bounds.
///
/// The constructor checks the bounds, so every structure holding one can be encoded without
/// failing. The bytes are not parsed as X.509: logs store what was submitted.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Asn1Cert(Vec<u8>);

impl Asn1Cert {
    /// The largest length a TLS `<1..2^24-1>` vector allows.
    pub const MAX_LEN: usize = MAX_U24;

    /// Wraps DER bytes; fails if empty or longer than [`Asn1Cert::MAX_LEN`].
    pub fn new(der: impl Into<Vec<u8>>) -> Result<Self, CtError> {
        let der = der.into();
        tls::check_len("ASN.1Cert", der.len(), 1, Self::MAX_LEN)?;
        Ok(Asn1Cert(der))
    }

    /// The DER bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The DER bytes, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    pub(crate) fn parse_from(r: &mut Reader<'_>, what: &'static str) -> Result<Self, CtError> {
        Ok(Asn1Cert(r.opaque(3, 1, MAX_U24, what)?.to_vec()))
    }

    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        tls::put_opaque(out, 3, &self.0);
    }
}

impl AsRef<[u8]> for Asn1Cert {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl TryFrom<Vec<u8>> for Asn1Cert {
    type Error = CtError;
    fn try_from(der: Vec<u8>) -> Result<Self, CtError> {
        Asn1Cert::new(der)
    }
}

impl TryFrom<&[u8]> for Asn1Cert {
    type Error = CtError;
    fn try_from(der: &[u8]) -> Result<Self, CtError> {
        Asn1Cert::new(der)
    }
}

impl fmt::Debug for Asn1Cert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Asn1Cert({} bytes)", self.0.len())
    }
}

/// RFC 6962 `CtExtensions`: the opaque `<0..2^16-1>` extensions field of SCTs and log entries.
///
/// RFC 6962 defines no extensions; static-ct-api logs put a `leaf_index` in it (see
/// [`CtExtensions::with_leaf_index`]). The field is signed over and hashed into the leaf, so it
/// is carried byte for byte.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct CtExtensions(Vec<u8>);

impl CtExtensions {
    /// The largest length the field allows.
    pub const MAX_LEN: usize = MAX_U16;

    /// Wraps raw extension bytes; fails if longer than [`CtExtensions::MAX_LEN`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, CtError> {
        let bytes = bytes.into();
        tls::check_len("CtExtensions", bytes.len(), 0, Self::MAX_LEN)?;
        Ok(CtExtensions(bytes))
    }

    /// No extensions, as RFC 6962 logs produce.
    pub fn empty() -> Self {
        CtExtensions(Vec::new())
    }

    /// The static-ct-api extensions: a single `leaf_index` extension, as a static-ct-api log
    /// MUST put in every SCT. Fails if `index` does not fit in 40 bits.
    pub fn with_leaf_index(index: u64) -> Result<Self, CtError> {
        Ok(CtExtensions(crate::encode_leaf_index_extension(index)?))
    }

    /// The static-ct-api `leaf_index`, for an auditor that fetches the entry by index.
    pub fn leaf_index(&self) -> Result<u64, CtError> {
        crate::parse_leaf_index_extension(&self.0)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether the field is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn parse_from(r: &mut Reader<'_>) -> Result<Self, CtError> {
        Ok(CtExtensions(
            r.opaque(2, 0, MAX_U16, "CtExtensions")?.to_vec(),
        ))
    }

    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        tls::put_opaque(out, 2, &self.0);
    }
}

impl AsRef<[u8]> for CtExtensions {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for CtExtensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CtExtensions(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// The `signed_entry` of RFC 6962: what an SCT is a promise to log.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SignedEntry {
    /// `x509_entry`: the DER certificate itself.
    X509(Asn1Cert),
    /// `precert_entry`: RFC 6962 `PreCert`, which binds the TBSCertificate (poison removed) to
    /// the key of the CA that will issue the final certificate.
    Precert {
        /// SHA-256 of the issuing CA's DER `SubjectPublicKeyInfo` (see
        /// [`crate::issuer_key_hash`]).
        issuer_key_hash: [u8; 32],
        /// The DER TBSCertificate without the poison extension (see
        /// [`crate::precert_tbs_from_precert`]).
        tbs_certificate: Asn1Cert,
    },
}

impl SignedEntry {
    /// The entry type this entry is encoded under.
    pub fn entry_type(&self) -> LogEntryType {
        match self {
            SignedEntry::X509(_) => LogEntryType::X509Entry,
            SignedEntry::Precert { .. } => LogEntryType::PrecertEntry,
        }
    }

    /// Writes `entry_type` followed by the `signed_entry` select, as in SCT signatures and
    /// `TimestampedEntry`.
    pub(crate) fn encode_typed_into(&self, out: &mut Vec<u8>) {
        tls::put_uint(out, 2, self.entry_type().value().into());
        match self {
            SignedEntry::X509(cert) => cert.encode_into(out),
            SignedEntry::Precert {
                issuer_key_hash,
                tbs_certificate,
            } => {
                out.extend_from_slice(issuer_key_hash);
                tbs_certificate.encode_into(out);
            }
        }
    }

    pub(crate) fn parse_typed_from(r: &mut Reader<'_>) -> Result<Self, CtError> {
        match LogEntryType::try_from(r.u16("LogEntryType")?)? {
            LogEntryType::X509Entry => Ok(SignedEntry::X509(Asn1Cert::parse_from(r, "ASN.1Cert")?)),
            LogEntryType::PrecertEntry => Ok(SignedEntry::Precert {
                issuer_key_hash: r.array("PreCert.issuer_key_hash")?,
                tbs_certificate: Asn1Cert::parse_from(r, "PreCert.tbs_certificate")?,
            }),
        }
    }
}

/// RFC 6962 `TimestampedEntry`: a signed entry with the log's timestamp and extensions, the
/// content of a Merkle tree leaf.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimestampedEntry {
    /// Milliseconds since the Unix epoch, the SCT's timestamp.
    pub timestamp: u64,
    /// The logged certificate or precertificate.
    pub entry: SignedEntry,
    /// The SCT's extensions.
    pub extensions: CtExtensions,
}

impl TimestampedEntry {
    /// The TLS encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Parses exactly one `TimestampedEntry`; trailing bytes are an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, CtError> {
        let mut r = Reader::new(bytes);
        let e = Self::parse_from(&mut r)?;
        r.finish("TimestampedEntry")?;
        Ok(e)
    }

    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        tls::put_uint(out, 8, self.timestamp);
        self.entry.encode_typed_into(out);
        self.extensions.encode_into(out);
    }

    pub(crate) fn parse_from(r: &mut Reader<'_>) -> Result<Self, CtError> {
        Ok(TimestampedEntry {
            timestamp: r.u64("TimestampedEntry.timestamp")?,
            entry: SignedEntry::parse_typed_from(r)?,
            extensions: CtExtensions::parse_from(r)?,
        })
    }
}

/// RFC 6962 `MerkleTreeLeaf` (version `v1`, leaf type `timestamped_entry`): the bytes whose hash
/// is a leaf of the log's tree, and the `leaf_input` of `get-entries`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MerkleTreeLeaf {
    /// The only leaf type RFC 6962 defines.
    pub timestamped_entry: TimestampedEntry,
}

impl MerkleTreeLeaf {
    /// The TLS encoding: `00` (v1) `00` (timestamped_entry) then the entry.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![crate::VERSION_V1, 0];
        self.timestamped_entry.encode_into(&mut out);
        out
    }

    /// Parses exactly one leaf; an unknown version or leaf type, or trailing bytes, is an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, CtError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("MerkleTreeLeaf.version")?;
        if version != crate::VERSION_V1 {
            return Err(CtError::UnknownValue {
                what: "MerkleTreeLeaf.version",
                value: version.into(),
            });
        }
        let leaf_type = r.u8("MerkleTreeLeaf.leaf_type")?;
        if leaf_type != 0 {
            return Err(CtError::UnknownValue {
                what: "MerkleLeafType",
                value: leaf_type.into(),
            });
        }
        let timestamped_entry = TimestampedEntry::parse_from(&mut r)?;
        r.finish("MerkleTreeLeaf")?;
        Ok(MerkleTreeLeaf { timestamped_entry })
    }

    /// The Merkle tree leaf hash, `SHA-256(0x00 || encode())`: what inclusion proofs and hash
    /// tiles are about, and the key of `get-proof-by-hash`.
    pub fn leaf_hash(&self) -> [u8; 32] {
        tlog::merkle::leaf_hash(&self.encode())
    }
}

impl From<TimestampedEntry> for MerkleTreeLeaf {
    fn from(timestamped_entry: TimestampedEntry) -> Self {
        MerkleTreeLeaf { timestamped_entry }
    }
}

/// The `extra_data` of an RFC 6962 `get-entries` response (section 4.6): the chain a
/// certificate was submitted with, which the Merkle leaf does not contain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtraData {
    pre_certificate: Option<Asn1Cert>,
    chain: Vec<Asn1Cert>,
}

impl ExtraData {
    /// The extra data of an `x509_entry`: `ASN.1Cert certificate_chain<0..2^24-1>`, the
    /// issuers from the leaf's issuer up to (and including) the root.
    pub fn x509(chain: Vec<Asn1Cert>) -> Result<Self, CtError> {
        Self::checked(None, chain)
    }

    /// The extra data of a `precert_entry`: RFC 6962 `PrecertChainEntry`, the submitted
    /// precertificate and its issuers.
    pub fn precert(pre_certificate: Asn1Cert, chain: Vec<Asn1Cert>) -> Result<Self, CtError> {
        Self::checked(Some(pre_certificate), chain)
    }

    fn checked(pre_certificate: Option<Asn1Cert>, chain: Vec<Asn1Cert>) -> Result<Self, CtError> {
        let len: usize = chain.iter().map(|c| 3 + c.0.len()).sum();
        tls::check_len("certificate_chain", len, 0, MAX_U24)?;
        Ok(ExtraData {
            pre_certificate,
            chain,
        })
    }

    /// The entry type this extra data belongs to.
    pub fn entry_type(&self) -> LogEntryType {
        if self.pre_certificate.is_some() {
            LogEntryType::PrecertEntry
        } else {
            LogEntryType::X509Entry
        }
    }

    /// The submitted precertificate, for a `precert_entry`.
    pub fn pre_certificate(&self) -> Option<&Asn1Cert> {
        self.pre_certificate.as_ref()
    }

    /// The issuer chain, leaf's issuer first.
    pub fn chain(&self) -> &[Asn1Cert] {
        &self.chain
    }

    /// The TLS encoding served as `extra_data`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(pre) = &self.pre_certificate {
            pre.encode_into(&mut out);
        }
        let mut chain = Vec::new();
        for cert in &self.chain {
            cert.encode_into(&mut chain);
        }
        tls::put_opaque(&mut out, 3, &chain);
        out
    }

    /// Parses the `extra_data` of an entry of type `entry_type` (taken from its leaf).
    pub fn parse(entry_type: LogEntryType, bytes: &[u8]) -> Result<Self, CtError> {
        let mut r = Reader::new(bytes);
        let pre_certificate = match entry_type {
            LogEntryType::X509Entry => None,
            LogEntryType::PrecertEntry => Some(Asn1Cert::parse_from(
                &mut r,
                "PrecertChainEntry.pre_certificate",
            )?),
        };
        let mut chain_reader = Reader::new(r.opaque(3, 0, MAX_U24, "certificate_chain")?);
        r.finish("extra_data")?;
        let mut chain = Vec::new();
        while !chain_reader.is_empty() {
            chain.push(Asn1Cert::parse_from(
                &mut chain_reader,
                "certificate_chain entry",
            )?);
        }
        Ok(ExtraData {
            pre_certificate,
            chain,
        })
    }
}
