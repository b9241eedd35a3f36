//! The JSON of RFC 6962 section 4.1 `add-chain` / `add-pre-chain`: the request a CA sends and
//! the SCT a log answers with. One definition for the log that serves it, the CA that submits
//! to it, and the detached SCT Fulcio hands back (which upstream Fulcio serializes the same way).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::entry::CtExtensions;
use crate::sct::{DigitallySigned, SignedCertificateTimestamp};
use crate::VERSION_V1;

/// An `add-chain` / `add-pre-chain` request body: base64 DER certificates, leaf first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddChainRequest {
    /// The chain, base64 DER, leaf first.
    pub chain: Vec<String>,
}

impl AddChainRequest {
    /// The request for DER certificates `chain`, leaf first.
    pub fn new(chain: &[Vec<u8>]) -> Self {
        Self {
            chain: chain.iter().map(|c| B64.encode(c)).collect(),
        }
    }
}

/// An SCT as a log answers `add-chain` with: its byte strings in base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SctJson {
    /// 0 for v1, the only version.
    pub sct_version: u8,
    /// The log ID (SHA-256 of its key), base64.
    pub id: String,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// The SCT's extensions, base64.
    pub extensions: String,
    /// The TLS `DigitallySigned` struct, base64.
    pub signature: String,
}

impl From<&SignedCertificateTimestamp> for SctJson {
    fn from(sct: &SignedCertificateTimestamp) -> Self {
        Self {
            sct_version: VERSION_V1,
            id: B64.encode(sct.log_id),
            timestamp: sct.timestamp,
            extensions: B64.encode(sct.extensions.as_bytes()),
            signature: B64.encode(sct.signature.encode()),
        }
    }
}

impl SctJson {
    /// The SCT these fields describe; the reason, for a client's error, when they describe none.
    pub fn to_sct(&self) -> Result<SignedCertificateTimestamp, String> {
        let field = |name: &str, value: &str| {
            B64.decode(value)
                .map_err(|_| format!("the answer's {name:?} is not base64"))
        };
        if self.sct_version != VERSION_V1 {
            return Err("answer is not a v1 SCT".into());
        }
        let log_id: [u8; 32] = field("id", &self.id)?
            .try_into()
            .map_err(|_| "log id is not 32 bytes".to_string())?;
        let extensions =
            CtExtensions::new(field("extensions", &self.extensions)?).map_err(|e| e.to_string())?;
        let signature = DigitallySigned::parse(&field("signature", &self.signature)?)
            .map_err(|e| e.to_string())?;
        Ok(SignedCertificateTimestamp {
            log_id,
            timestamp: self.timestamp,
            extensions,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sct() -> SignedCertificateTimestamp {
        SignedCertificateTimestamp {
            log_id: [7; 32],
            timestamp: 1_700_000_000_123,
            extensions: CtExtensions::new(vec![1, 2, 3]).unwrap(),
            signature: DigitallySigned::new(
                DigitallySigned::SHA256,
                DigitallySigned::ECDSA,
                vec![9; 70],
            )
            .unwrap(),
        }
    }

    #[test]
    fn an_sct_survives_its_json_and_the_fields_are_rfc_6962s() {
        let json = SctJson::from(&sct());
        assert_eq!(json.to_sct().unwrap(), sct());
        let value = serde_json::to_value(&json).unwrap();
        assert_eq!(value["sct_version"], 0);
        assert_eq!(value["id"], B64.encode([7; 32]));
        assert_eq!(value["timestamp"], 1_700_000_000_123u64);
        assert_eq!(value["extensions"], "AQID");
    }

    #[test]
    fn fields_that_describe_no_sct_are_refused_with_the_reason() {
        let good = SctJson::from(&sct());
        let refused = |json: SctJson| json.to_sct().unwrap_err();
        assert_eq!(
            refused(SctJson {
                sct_version: 1,
                ..good.clone()
            }),
            "answer is not a v1 SCT"
        );
        assert_eq!(
            refused(SctJson {
                id: B64.encode([7; 31]),
                ..good.clone()
            }),
            "log id is not 32 bytes"
        );
        assert_eq!(
            refused(SctJson {
                signature: "!".into(),
                ..good.clone()
            }),
            "the answer's \"signature\" is not base64"
        );
        assert!(refused(SctJson {
            signature: B64.encode([4, 3]),
            ..good
        })
        .contains("DigitallySigned"));
    }

    #[test]
    fn a_request_carries_the_chain_in_base64_leaf_first() {
        let request = AddChainRequest::new(&[vec![1], vec![2, 3]]);
        assert_eq!(request.chain, ["AQ==", "AgM="]);
        assert!(serde_json::from_str::<AddChainRequest>(r#"{"chain":[],"x":1}"#).is_err());
    }
}
