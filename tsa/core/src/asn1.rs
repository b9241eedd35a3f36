//! The ASN.1 of RFC 3161 (section 2.4), RFC 5816 (ESSCertIDv2) and RFC 4210's PKIStatusInfo,
//! as `der` derive types. Crate-private: the public API exposes validated views instead.
//!
//! Why not the `x509-tsp` crate: its 0.1 release types `genTime` as `der`'s `GeneralizedTime`,
//! which rejects the fractional seconds RFC 3161 section 2.4.2 allows (and which other TSAs
//! emit), and it takes `PKIStatusInfo` from `cmpv2`, pulling in a CMP stack for one struct.
//! The definitions below are the RFC's, field for field. `tests/it/x509_tsp.rs` checks them
//! against the crate: requests both ways and our whole-second TSTInfo decode to the same fields
//! and re-encode to the same bytes, and a fractional genTime is still one the crate refuses.

use der::asn1::{BitString, Int, OctetString};
use der::{Any, DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Sequence, Tag, Writer};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::Extensions;
use x509_cert::serial_number::SerialNumber;

/// ```text
/// TimeStampReq ::= SEQUENCE  {
///    version          INTEGER  { v1(1) },
///    messageImprint   MessageImprint,
///    reqPolicy        TSAPolicyId              OPTIONAL,
///    nonce            INTEGER                  OPTIONAL,
///    certReq          BOOLEAN                  DEFAULT FALSE,
///    extensions       [0] IMPLICIT Extensions  OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TimeStampReq {
    pub(crate) version: Int,
    pub(crate) message_imprint: MessageImprint,
    #[asn1(optional = "true")]
    pub(crate) req_policy: Option<ObjectIdentifier>,
    #[asn1(optional = "true")]
    pub(crate) nonce: Option<Int>,
    #[asn1(default = "Default::default")]
    pub(crate) cert_req: bool,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) extensions: Option<Extensions>,
}

/// ```text
/// MessageImprint ::= SEQUENCE  {
///    hashAlgorithm   AlgorithmIdentifier,
///    hashedMessage   OCTET STRING  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct MessageImprint {
    pub(crate) hash_algorithm: AlgorithmIdentifierOwned,
    pub(crate) hashed_message: OctetString,
}

/// ```text
/// TSTInfo ::= SEQUENCE  {
///    version          INTEGER  { v1(1) },
///    policy           TSAPolicyId,
///    messageImprint   MessageImprint,
///    serialNumber     INTEGER,
///    genTime          GeneralizedTime,
///    accuracy         Accuracy                 OPTIONAL,
///    ordering         BOOLEAN             DEFAULT FALSE,
///    nonce            INTEGER                  OPTIONAL,
///    tsa              [0] GeneralName          OPTIONAL,
///    extensions       [1] IMPLICIT Extensions  OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TstInfo {
    pub(crate) version: Int,
    pub(crate) policy: ObjectIdentifier,
    pub(crate) message_imprint: MessageImprint,
    pub(crate) serial_number: Int,
    pub(crate) gen_time: GenTime,
    #[asn1(optional = "true")]
    pub(crate) accuracy: Option<AccuracyAsn1>,
    #[asn1(default = "Default::default")]
    pub(crate) ordering: bool,
    #[asn1(optional = "true")]
    pub(crate) nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub(crate) tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) extensions: Option<Extensions>,
}

/// ```text
/// Accuracy ::= SEQUENCE {
///    seconds        INTEGER              OPTIONAL,
///    millis     [0] INTEGER  (1..999)    OPTIONAL,
///    micros     [1] INTEGER  (1..999)    OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct AccuracyAsn1 {
    #[asn1(optional = "true")]
    pub(crate) seconds: Option<u32>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) millis: Option<u16>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) micros: Option<u16>,
}

/// ```text
/// PKIStatusInfo ::= SEQUENCE {
///    status        PKIStatus,
///    statusString  PKIFreeText     OPTIONAL,
///    failInfo      PKIFailureInfo  OPTIONAL  }
/// PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct PkiStatusInfo {
    pub(crate) status: u8,
    #[asn1(optional = "true")]
    pub(crate) status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    pub(crate) fail_info: Option<BitString>,
}

/// ```text
/// TimeStampResp ::= SEQUENCE  {
///    status           PKIStatusInfo,
///    timeStampToken   TimeStampToken  OPTIONAL  }
/// TimeStampToken ::= ContentInfo
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TimeStampResp {
    pub(crate) status: PkiStatusInfo,
    #[asn1(optional = "true")]
    pub(crate) time_stamp_token: Option<cms::content_info::ContentInfo>,
}

/// RFC 5035 section 3:
/// ```text
/// SigningCertificateV2 ::= SEQUENCE {
///    certs     SEQUENCE OF ESSCertIDv2,
///    policies  SEQUENCE OF PolicyInformation OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SigningCertificateV2 {
    pub(crate) certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    pub(crate) policies: Option<Vec<Any>>,
}

/// ```text
/// ESSCertIDv2 ::= SEQUENCE {
///    hashAlgorithm  AlgorithmIdentifier DEFAULT {algorithm id-sha256},
///    certHash       Hash,
///    issuerSerial   IssuerSerial OPTIONAL }
/// ```
/// `None` is the DEFAULT (SHA-256), which DER requires to be left out.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub(crate) hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub(crate) cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub(crate) issuer_serial: Option<IssuerSerial>,
}

/// ```text
/// IssuerSerial ::= SEQUENCE {
///    issuer        GeneralNames,
///    serialNumber  CertificateSerialNumber }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct IssuerSerial {
    pub(crate) issuer: Vec<GeneralName>,
    pub(crate) serial_number: SerialNumber,
}

/// A DER GeneralizedTime that may carry fractional seconds (RFC 3161 section 2.4.2, X.690
/// section 11.7): `YYYYMMDDHHMMSS[.f*]Z`, UTC, no trailing zeros in the fraction and no `.`
/// when the fraction is zero. Years 1970 to 9999.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Ord, PartialOrd)]
pub(crate) struct GenTime {
    /// Seconds since the Unix epoch.
    pub(crate) secs: u64,
    /// Nanoseconds, below 1_000_000_000.
    pub(crate) nanos: u32,
}

impl GenTime {
    pub(crate) fn render(&self) -> Result<String, der::Error> {
        let dt = der::DateTime::from_unix_duration(std::time::Duration::from_secs(self.secs))?;
        let mut out = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minutes(),
            dt.seconds()
        );
        if self.nanos >= 1_000_000_000 {
            return Err(Tag::GeneralizedTime.value_error());
        }
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        out.push('Z');
        Ok(out)
    }

    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, der::Error> {
        let bad = || Tag::GeneralizedTime.value_error();
        let body = bytes.strip_suffix(b"Z").ok_or_else(bad)?;
        let (whole, frac) = match body.iter().position(|&b| b == b'.') {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        if whole.len() != 14 || !whole.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| {
            whole[r]
                .iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
        };
        let year = u16::try_from(num(0..4)).map_err(|_| bad())?;
        let field = |r| u8::try_from(num(r)).map_err(|_| bad());
        let dt = der::DateTime::new(
            year,
            field(4..6)?,
            field(6..8)?,
            field(8..10)?,
            field(10..12)?,
            field(12..14)?,
        )
        .map_err(|_| bad())?;
        let nanos = match frac {
            None => 0,
            Some(f) => {
                // DER: at least one digit, digits only, no trailing zero; we keep nanoseconds.
                if f.is_empty()
                    || f.len() > 9
                    || !f.iter().all(u8::is_ascii_digit)
                    || f.last() == Some(&b'0')
                {
                    return Err(bad());
                }
                let mut n = f.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
                for _ in f.len()..9 {
                    n *= 10;
                }
                n
            }
        };
        Ok(Self {
            secs: dt.unix_duration().as_secs(),
            nanos,
        })
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl<'a> DecodeValue<'a> for GenTime {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let bytes = reader.read_vec(header.length)?;
        Self::parse(&bytes)
    }
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.render()?.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.render()?.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, Encode};

    #[test]
    fn gen_time_der_rules() {
        let t = GenTime {
            secs: 1_749_470_258,
            nanos: 0,
        };
        assert_eq!(t.render().unwrap(), "20250609115738Z");
        let t = GenTime {
            secs: 1_749_470_258,
            nanos: 120_000_000,
        };
        assert_eq!(t.render().unwrap(), "20250609115738.12Z");
        let der = t.to_der().unwrap();
        assert_eq!(GenTime::from_der(&der).unwrap(), t);
        for bad in [
            &b"20250609115738.120Z"[..],
            b"20250609115738.Z",
            b"20250609115738",
            b"202506091157Z",
            b"20250609115738+0000",
            b"20251309115738Z",
            b"20250609115738.1234567891Z",
        ] {
            assert!(
                GenTime::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            GenTime::parse(b"20250609115738.000000001Z").unwrap().nanos,
            1
        );
    }
}
