//! The log's side: reading a witness's answers, and the N-of-M witness policy a cosigned
//! checkpoint must meet.

use tlog::note::{Note, NoteSignature};

use crate::{CosignError, CosignatureVerifier};

/// Why a witness's answer cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// A 200 answer without a valid cosignature from the witness's key.
    #[error("the witness answered no valid cosignature from {name}")]
    NoCosignature {
        /// The witness's key name.
        name: String,
    },
    /// A cosignature line from the witness's key that does not verify.
    #[error("the witness's cosignature does not verify")]
    BadCosignature(#[source] CosignError),
    /// A 409 whose body is not a size.
    #[error("the witness's 409 body is not a tree size and a newline")]
    MalformedSize,
}

/// The cosignature of `verifier`'s witness in a 200 answer to `add-checkpoint` for the
/// checkpoint whose note text is `checkpoint_text`. Lines from other keys are ignored, as the
/// spec requires; a line from this witness's key must verify.
pub fn cosignature_in_answer(
    body: &str,
    checkpoint_text: &str,
    verifier: &CosignatureVerifier,
) -> Result<NoteSignature, AnswerError> {
    // The answer is signature lines: parse them as the signatures of a note with this text.
    let note = Note::parse(format!("{checkpoint_text}\n{body}").as_bytes()).map_err(|_| {
        AnswerError::NoCosignature {
            name: verifier.name().to_string(),
        }
    })?;
    let mut found = None;
    for sig in note.signatures().iter().filter(|s| verifier.matches(s)) {
        verifier
            .verify(checkpoint_text, sig)
            .map_err(AnswerError::BadCosignature)?;
        found.get_or_insert_with(|| sig.clone());
    }
    found.ok_or_else(|| AnswerError::NoCosignature {
        name: verifier.name().to_string(),
    })
}

/// The size in a 409 answer's `text/x.tlog.size` body: decimal and a newline.
pub fn size_in_conflict(body: &[u8]) -> Result<u64, AnswerError> {
    let digits = body.strip_suffix(b"\n").ok_or(AnswerError::MalformedSize)?;
    let canonical = !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && (digits == b"0" || digits[0] != b'0');
    if !canonical {
        return Err(AnswerError::MalformedSize);
    }
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(AnswerError::MalformedSize)
}

/// A witness policy: a checkpoint counts as witnessed when at least `threshold` of `witnesses`
/// cosigned it. The threshold is between 1 and the number of witnesses, and no witness is
/// listed twice, by construction.
#[derive(Debug, Clone)]
pub struct WitnessPolicy {
    witnesses: Vec<CosignatureVerifier>,
    threshold: usize,
}

/// Why a witness policy cannot be built, or is not met.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The threshold is 0 or above the number of witnesses.
    #[error(
        "a threshold of {threshold} with {witnesses} witness(es): it must be 1 to {witnesses}"
    )]
    BadThreshold {
        /// The threshold.
        threshold: usize,
        /// The number of witnesses.
        witnesses: usize,
    },
    /// The same witness key name and ID twice.
    #[error("witness {name} is listed twice")]
    Duplicate {
        /// The key name.
        name: String,
    },
    /// Fewer valid cosignatures than the threshold.
    #[error("{valid} valid cosignature(s) of the {threshold} the witness policy needs")]
    NotMet {
        /// Valid cosignatures from distinct policy witnesses.
        valid: usize,
        /// The threshold.
        threshold: usize,
    },
}

impl WitnessPolicy {
    /// At least `threshold` of `witnesses`.
    pub fn new(witnesses: Vec<CosignatureVerifier>, threshold: usize) -> Result<Self, PolicyError> {
        if threshold == 0 || threshold > witnesses.len() {
            return Err(PolicyError::BadThreshold {
                threshold,
                witnesses: witnesses.len(),
            });
        }
        for (i, w) in witnesses.iter().enumerate() {
            if witnesses[..i]
                .iter()
                .any(|o| o.name() == w.name() && o.key_hash() == w.key_hash())
            {
                return Err(PolicyError::Duplicate {
                    name: w.name().to_string(),
                });
            }
        }
        Ok(WitnessPolicy {
            witnesses,
            threshold,
        })
    }

    /// The witnesses.
    pub fn witnesses(&self) -> &[CosignatureVerifier] {
        &self.witnesses
    }

    /// The threshold.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// This policy as a [C2SP tlog-policy] file for the log whose checkpoint verifier key is
    /// `log_vkey` (its key name is its origin): the log, each witness (`w1`, `w2`, … with its
    /// verifier key and, where given, its submission URL), one group with the threshold, and the
    /// quorum. `witness_urls` follows the order of [`WitnessPolicy::witnesses`].
    ///
    /// [C2SP tlog-policy]: https://c2sp.org/tlog-policy
    pub fn to_tlog_policy(
        &self,
        log_vkey: &str,
        log_url: Option<&str>,
        witness_urls: &[Option<&str>],
    ) -> String {
        let with_url = |line: String, url: Option<&str>| match url {
            Some(url) => format!("{line} {url}\n"),
            None => format!("{line}\n"),
        };
        let mut out = with_url(format!("log {log_vkey}"), log_url);
        let mut names = Vec::new();
        for (i, w) in self.witnesses.iter().enumerate() {
            let name = format!("w{}", i + 1);
            let url = witness_urls.get(i).copied().flatten();
            out.push_str(&with_url(format!("witness {name} {}", w.to_vkey()), url));
            names.push(name);
        }
        out.push_str(&format!(
            "group witnesses {} {}\nquorum witnesses\n",
            self.threshold,
            names.join(" ")
        ));
        out
    }

    /// How many of the policy's witnesses validly cosigned `note`, if that meets the threshold.
    /// A witness counts once however many lines it has; an invalid line from a policy witness
    /// does not count (the log checked what it attached, so it is not expected).
    pub fn check(&self, note: &Note) -> Result<usize, PolicyError> {
        let valid = self
            .witnesses
            .iter()
            .filter(|w| {
                note.signatures()
                    .iter()
                    .any(|s| w.matches(s) && w.verify(note.text(), s).is_ok())
            })
            .count();
        if valid >= self.threshold {
            Ok(valid)
        } else {
            Err(PolicyError::NotMet {
                valid,
                threshold: self.threshold,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cosigner;
    use sigstack_keys::SoftwareKey;
    use std::sync::Arc;

    const TEXT: &str = "log.example\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

    fn witness(i: u8) -> Cosigner {
        Cosigner::new(
            &format!("w{i}.example"),
            Arc::new(SoftwareKey::ed25519_from_seed(&[i; 32])),
        )
        .unwrap()
    }

    #[test]
    fn answers() {
        let w = witness(1);
        let other = witness(2);
        let line = w.cosign(TEXT, 5).unwrap().to_line();
        let body = format!("{}{line}", other.cosign(TEXT, 5).unwrap().to_line());
        let sig = cosignature_in_answer(&body, TEXT, w.verifier()).unwrap();
        assert_eq!(w.verifier().verify(TEXT, &sig).unwrap(), 5);
        assert!(cosignature_in_answer("", TEXT, w.verifier()).is_err());
        assert!(cosignature_in_answer(
            &line,
            "log.example\n4\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
            w.verifier()
        )
        .is_err());
        assert_eq!(size_in_conflict(b"17\n").unwrap(), 17);
        assert_eq!(size_in_conflict(b"0\n").unwrap(), 0);
        for bad in [&b"17"[..], b"017\n", b"\n", b"-1\n", b"1 \n"] {
            assert!(size_in_conflict(bad).is_err());
        }
    }

    #[test]
    fn policies() {
        let (a, b, c) = (witness(1), witness(2), witness(3));
        let verifiers = vec![
            a.verifier().clone(),
            b.verifier().clone(),
            c.verifier().clone(),
        ];
        assert!(WitnessPolicy::new(verifiers.clone(), 0).is_err());
        assert!(WitnessPolicy::new(verifiers.clone(), 4).is_err());
        assert!(WitnessPolicy::new(vec![a.verifier().clone(), a.verifier().clone()], 1).is_err());
        let policy = WitnessPolicy::new(verifiers, 2).unwrap();
        let log = tlog::note::NoteSigner::ed25519(
            "log.example",
            Arc::new(SoftwareKey::ed25519_from_seed(&[9; 32])),
        )
        .unwrap();
        let mut note = Note::sign(TEXT, &[&log]).unwrap();
        let with = |note: &Note, sig: NoteSignature| {
            let mut sigs = note.signatures().to_vec();
            sigs.push(sig);
            Note::new(note.text(), sigs).unwrap()
        };
        assert_eq!(
            policy.check(&note),
            Err(PolicyError::NotMet {
                valid: 0,
                threshold: 2
            })
        );
        note = with(&note, a.cosign(TEXT, 1).unwrap());
        note = with(&note, a.cosign(TEXT, 2).unwrap());
        assert!(policy.check(&note).is_err(), "one witness counts once");
        // A cosignature over another text does not count.
        let moved = b
            .cosign(
                "log.example\n4\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
                1,
            )
            .unwrap();
        assert!(policy.check(&with(&note, moved)).is_err());
        note = with(&note, c.cosign(TEXT, 1).unwrap());
        assert_eq!(policy.check(&note), Ok(2));

        let file = policy.to_tlog_policy(
            &log.verifier().to_vkey(),
            Some("https://log.example"),
            &[Some("https://w1.example"), None, Some("https://w3.example")],
        );
        let lines: Vec<&str> = file.lines().collect();
        assert_eq!(
            lines[0],
            format!("log {} https://log.example", log.verifier().to_vkey())
        );
        assert_eq!(
            lines[1],
            format!("witness w1 {} https://w1.example", a.verifier().to_vkey())
        );
        assert_eq!(lines[2], format!("witness w2 {}", b.verifier().to_vkey()));
        assert_eq!(lines[4], "group witnesses 2 w1 w2 w3");
        assert_eq!(lines[5], "quorum witnesses");
        assert!(file.ends_with('\n'));
    }
}
