//! Reading a TimeStampResp back: status, the TSTInfo fields and the embedded certificates, and
//! a signature check against a given TSA certificate. Used by our tests and by tools that
//! inspect replies; a full verifier (chain building, validity windows) lives with the clients.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cms::cert::CertificateChoices;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::{Decode, Encode};
use sha2::Digest;
use spki::ObjectIdentifier;
use x509_cert::Certificate;

use crate::asn1;
use crate::authority::{
    ECDSA_WITH_SHA256, ECDSA_WITH_SHA384, ECDSA_WITH_SHA512, ID_CONTENT_TYPE, ID_CT_TST_INFO,
    ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_CERTIFICATE_V2,
};
use crate::request::{FailureInfo, SHA256_OID, SHA384_OID, SHA512_OID};

/// Why a response could not be read or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// Not a DER TimeStampResp, or its token is not a SignedData around a TSTInfo.
    #[error("malformed timestamp response: {0}")]
    Malformed(String),
    /// The response carries no token (it is a rejection).
    #[error("the response carries no timestamp token")]
    NoToken,
    /// The signature or an attribute does not match.
    #[error("timestamp verification failed: {0}")]
    Verification(&'static str),
    /// The algorithms used are not ones this checker supports.
    #[error("unsupported algorithm in the timestamp: {0}")]
    Unsupported(&'static str),
}

fn malformed(e: impl std::fmt::Display) -> ResponseError {
    ResponseError::Malformed(e.to_string())
}

/// A parsed TimeStampResp.
#[derive(Debug, Clone)]
pub struct TimeStampResponse {
    status: asn1::PkiStatusInfo,
    token: Option<Token>,
}

#[derive(Debug, Clone)]
struct Token {
    signed_data: SignedData,
    tst_der: Vec<u8>,
    tst: asn1::TstInfo,
}

impl TimeStampResponse {
    /// Parses a DER TimeStampResp; a token, if present, must be a SignedData whose eContent
    /// is a DER TSTInfo.
    pub fn from_der(der: &[u8]) -> Result<Self, ResponseError> {
        let resp = asn1::TimeStampResp::from_der(der).map_err(malformed)?;
        let token = match resp.time_stamp_token {
            None => None,
            Some(ci) => {
                if ci.content_type != ID_SIGNED_DATA {
                    return Err(malformed("the token is not a SignedData"));
                }
                let sd_der = ci.content.to_der().map_err(malformed)?;
                let signed_data = SignedData::from_der(&sd_der).map_err(malformed)?;
                let encap = &signed_data.encap_content_info;
                if encap.econtent_type != ID_CT_TST_INFO {
                    return Err(malformed("eContentType is not id-ct-TSTInfo"));
                }
                let econtent = encap
                    .econtent
                    .as_ref()
                    .ok_or_else(|| malformed("no eContent"))?;
                let octets =
                    der::asn1::OctetString::from_der(&econtent.to_der().map_err(malformed)?)
                        .map_err(malformed)?;
                let tst_der = octets.as_bytes().to_vec();
                let tst = asn1::TstInfo::from_der(&tst_der).map_err(malformed)?;
                Some(Token {
                    signed_data,
                    tst_der,
                    tst,
                })
            }
        };
        Ok(Self {
            status: resp.status,
            token,
        })
    }

    /// PKIStatus: 0 granted, 1 grantedWithMods, 2 rejection, …
    pub fn status(&self) -> u8 {
        self.status.status
    }

    /// Whether a token was granted (status 0 or 1, with a token).
    pub fn is_granted(&self) -> bool {
        self.status.status <= 1 && self.token.is_some()
    }

    /// The failure bits that are set, among the ones RFC 3161 names.
    pub fn failure_info(&self) -> Vec<FailureInfo> {
        let Some(bits) = &self.status.fail_info else {
            return Vec::new();
        };
        let bytes = bits.raw_bytes();
        FailureInfo::all()
            .into_iter()
            .filter(|f| {
                let b = f.bit();
                bytes
                    .get(b / 8)
                    .is_some_and(|byte| byte & (0x80 >> (b % 8)) != 0)
            })
            .collect()
    }

    /// The status strings.
    pub fn status_text(&self) -> &[String] {
        self.status.status_string.as_deref().unwrap_or_default()
    }

    fn token(&self) -> Result<&Token, ResponseError> {
        self.token.as_ref().ok_or(ResponseError::NoToken)
    }

    /// The DER TSTInfo (the signed content).
    pub fn tst_info_der(&self) -> Option<&[u8]> {
        self.token.as_ref().map(|t| t.tst_der.as_slice())
    }

    /// The TSTInfo policy.
    pub fn policy(&self) -> Option<ObjectIdentifier> {
        self.token.as_ref().map(|t| t.tst.policy)
    }

    /// The message imprint: hash algorithm OID and digest.
    pub fn message_imprint(&self) -> Option<(ObjectIdentifier, &[u8])> {
        self.token.as_ref().map(|t| {
            (
                t.tst.message_imprint.hash_algorithm.oid,
                t.tst.message_imprint.hashed_message.as_bytes(),
            )
        })
    }

    /// The TSTInfo serial number's content octets.
    pub fn serial_number(&self) -> Option<&[u8]> {
        self.token.as_ref().map(|t| t.tst.serial_number.as_bytes())
    }

    /// genTime.
    pub fn gen_time(&self) -> Option<SystemTime> {
        self.token
            .as_ref()
            .map(|t| UNIX_EPOCH + Duration::new(t.tst.gen_time.secs, t.tst.gen_time.nanos))
    }

    /// The accuracy as (seconds, millis, micros), absent parts as 0.
    pub fn accuracy(&self) -> Option<(u32, u16, u16)> {
        let a = self.token.as_ref()?.tst.accuracy.as_ref()?;
        Some((
            a.seconds.unwrap_or(0),
            a.millis.unwrap_or(0),
            a.micros.unwrap_or(0),
        ))
    }

    /// The nonce's INTEGER content octets.
    pub fn nonce(&self) -> Option<&[u8]> {
        self.token
            .as_ref()?
            .tst
            .nonce
            .as_ref()
            .map(|n| n.as_bytes())
    }

    /// Whether the TSTInfo names the TSA.
    pub fn has_tsa_name(&self) -> bool {
        self.token.as_ref().is_some_and(|t| t.tst.tsa.is_some())
    }

    /// The certificates embedded in the SignedData, DER.
    pub fn certificates(&self) -> Vec<Vec<u8>> {
        let Some(t) = &self.token else {
            return Vec::new();
        };
        t.signed_data
            .certificates
            .iter()
            .flat_map(|set| set.0.iter())
            .filter_map(|c| match c {
                CertificateChoices::Certificate(cert) => cert.to_der().ok(),
                CertificateChoices::Other(_) => None,
            })
            .collect()
    }

    /// Checks the token's signature with `tsa_cert_der` (DER): the signer identifier names
    /// it, the signed attributes carry contentType TSTInfo, the messageDigest of the TSTInfo
    /// and an ESSCertIDv2 whose hash is the certificate's, and the signature verifies under its
    /// key. ECDSA P-256 or P-384 keys with ecdsa-with-SHA256/384/512.
    /// Does not check the chain, validity periods or the EKU: that is a verifier's job.
    pub fn verify_signature(&self, tsa_cert_der: &[u8]) -> Result<(), ResponseError> {
        let token = self.token()?;
        let cert = Certificate::from_der(tsa_cert_der).map_err(malformed)?;
        let si = token
            .signed_data
            .signer_infos
            .0
            .iter()
            .next()
            .ok_or(ResponseError::Verification("no SignerInfo"))?;
        match &si.sid {
            SignerIdentifier::IssuerAndSerialNumber(ias)
                if ias.issuer == cert.tbs_certificate.issuer
                    && ias.serial_number == cert.tbs_certificate.serial_number => {}
            _ => {
                return Err(ResponseError::Verification(
                    "the signer identifier does not name this certificate",
                ))
            }
        }
        let digest: Vec<u8> = match si.digest_alg.oid {
            o if o == SHA256_OID => sha2::Sha256::digest(&token.tst_der).to_vec(),
            o if o == SHA384_OID => sha2::Sha384::digest(&token.tst_der).to_vec(),
            o if o == SHA512_OID => sha2::Sha512::digest(&token.tst_der).to_vec(),
            _ => return Err(ResponseError::Unsupported("digest algorithm")),
        };
        let attrs = si
            .signed_attrs
            .as_ref()
            .ok_or(ResponseError::Verification("no signed attributes"))?;
        let value = |oid: ObjectIdentifier| {
            attrs
                .iter()
                .find(|a| a.oid == oid)
                .and_then(|a| a.values.iter().next())
        };
        let content_type = value(ID_CONTENT_TYPE)
            .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
            .ok_or(ResponseError::Verification("no contentType attribute"))?;
        if content_type != ID_CT_TST_INFO {
            return Err(ResponseError::Verification("contentType is not TSTInfo"));
        }
        let md = value(ID_MESSAGE_DIGEST)
            .and_then(|v| v.decode_as::<der::asn1::OctetString>().ok())
            .ok_or(ResponseError::Verification("no messageDigest attribute"))?;
        if md.as_bytes() != digest {
            return Err(ResponseError::Verification(
                "messageDigest does not match the TSTInfo",
            ));
        }
        let ess = value(ID_SIGNING_CERTIFICATE_V2)
            .and_then(|v| v.decode_as::<asn1::SigningCertificateV2>().ok())
            .ok_or(ResponseError::Verification(
                "no signingCertificateV2 attribute",
            ))?;
        let first = ess
            .certs
            .first()
            .ok_or(ResponseError::Verification("empty signingCertificateV2"))?;
        let cert_hash: Vec<u8> = match first.hash_algorithm.as_ref().map_or(SHA256_OID, |a| a.oid) {
            o if o == SHA256_OID => sha2::Sha256::digest(tsa_cert_der).to_vec(),
            o if o == SHA384_OID => sha2::Sha384::digest(tsa_cert_der).to_vec(),
            o if o == SHA512_OID => sha2::Sha512::digest(tsa_cert_der).to_vec(),
            _ => return Err(ResponseError::Unsupported("ESSCertIDv2 hash algorithm")),
        };
        if first.cert_hash.as_bytes() != cert_hash {
            return Err(ResponseError::Verification(
                "ESSCertIDv2 does not identify this certificate",
            ));
        }
        let spki_der = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(malformed)?;
        // RFC 5652 section 5.4: the signature covers the DER of the attributes as a SET OF.
        let signed = attrs.to_der().map_err(malformed)?;
        let prehash: Vec<u8> = match si.signature_algorithm.oid {
            o if o == ECDSA_WITH_SHA256 => sha2::Sha256::digest(&signed).to_vec(),
            o if o == ECDSA_WITH_SHA384 => sha2::Sha384::digest(&signed).to_vec(),
            o if o == ECDSA_WITH_SHA512 => sha2::Sha512::digest(&signed).to_vec(),
            _ => return Err(ResponseError::Unsupported("signature algorithm")),
        };
        verify_ecdsa_prehash(&spki_der, &prehash, si.signature.as_bytes())
    }
}

/// ECDSA over a precomputed digest, so that any pairing of curve and hash verifies (Sigstore's
/// public TSA signs SHA-256 digests with a P-384 key).
fn verify_ecdsa_prehash(
    spki_der: &[u8],
    prehash: &[u8],
    signature: &[u8],
) -> Result<(), ResponseError> {
    use ecdsa::signature::hazmat::PrehashVerifier;
    use spki::DecodePublicKey;
    let bad = |_: ecdsa::Error| ResponseError::Verification("bad signature");
    if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(spki_der) {
        let sig = p256::ecdsa::Signature::from_der(signature).map_err(bad)?;
        return key.verify_prehash(prehash, &sig).map_err(bad);
    }
    if let Ok(key) = p384::ecdsa::VerifyingKey::from_public_key_der(spki_der) {
        let sig = p384::ecdsa::Signature::from_der(signature).map_err(bad)?;
        return key.verify_prehash(prehash, &sig).map_err(bad);
    }
    Err(ResponseError::Unsupported(
        "TSA key type (ECDSA P-256 and P-384 only)",
    ))
}
