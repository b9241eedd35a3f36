//! The `add-checkpoint` request body ([c2sp.org/tlog-witness]):
//!
//! ```text
//! old <size>\n
//! <base64 hash>\n        (0 to 63 consistency proof lines)
//! \n
//! <checkpoint note>
//! ```
//!
//! [c2sp.org/tlog-witness]: https://c2sp.org/tlog-witness#add-checkpoint

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use tlog::checkpoint::Checkpoint;
use tlog::merkle::Hash;
use tlog::note::Note;

use crate::Refusal;

/// The most consistency proof lines a client may send, as the spec limits them.
pub const MAX_PROOF_LINES: usize = 63;

/// A parsed `add-checkpoint` request. Nothing in it is trusted yet: see [`crate::Witness::verify`].
#[derive(Debug, Clone)]
pub struct AddCheckpoint {
    pub(crate) old_size: u64,
    pub(crate) proof: Vec<Hash>,
    pub(crate) note: Note,
    pub(crate) checkpoint: Checkpoint,
}

impl AddCheckpoint {
    /// Parses a request body strictly: every line ends in a newline, the old size is canonical
    /// decimal, every proof line is the canonical base64 of 32 bytes, the note parses and its
    /// text is a checkpoint. Errors are [`Refusal::Malformed`], [`Refusal::MalformedNote`] and
    /// [`Refusal::MalformedCheckpoint`] (all 400).
    pub fn parse(body: &[u8]) -> Result<Self, Refusal> {
        let mut rest = body;
        let old_line = next_line(&mut rest)?;
        let old_size = old_line
            .strip_prefix(b"old ")
            .and_then(parse_decimal)
            .ok_or(Refusal::Malformed {
                reason: "the first line must be \"old <size>\" in canonical decimal",
            })?;
        let mut proof = Vec::new();
        loop {
            let line = next_line(&mut rest)?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(Refusal::Malformed {
                    reason: "more than 63 consistency proof lines",
                });
            }
            let hash = BASE64
                .decode(line)
                .ok()
                .and_then(|raw| Hash::try_from(raw).ok())
                .ok_or(Refusal::Malformed {
                    reason: "a consistency proof line is not the base64 of a 32-byte hash",
                })?;
            proof.push(hash);
        }
        let note = Note::parse(rest).map_err(Refusal::MalformedNote)?;
        let checkpoint =
            Checkpoint::parse_body(note.text()).map_err(Refusal::MalformedCheckpoint)?;
        Ok(AddCheckpoint {
            old_size,
            proof,
            note,
            checkpoint,
        })
    }

    /// The body of this request: what a log sends (the inverse of [`AddCheckpoint::parse`]).
    pub fn encode(old_size: u64, proof: &[Hash], note: &[u8]) -> Vec<u8> {
        let mut out = format!("old {old_size}\n").into_bytes();
        for hash in proof {
            out.extend_from_slice(BASE64.encode(hash).as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(note);
        out
    }

    /// The `old` size.
    pub fn old_size(&self) -> u64 {
        self.old_size
    }

    /// The consistency proof.
    pub fn proof(&self) -> &[Hash] {
        &self.proof
    }

    /// The checkpoint (untrusted until verified).
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The checkpoint's signed note, as submitted.
    pub fn note(&self) -> &Note {
        &self.note
    }
}

/// The next newline-terminated line (without its newline), advancing `rest` past it.
fn next_line<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], Refusal> {
    let end = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(Refusal::Malformed {
            reason: "the body ends before the blank line that precedes the checkpoint",
        })?;
    let line = &rest[..end];
    *rest = &rest[end + 1..];
    Ok(line)
}

/// A canonical ASCII decimal: digits only, no leading zero unless it is `0`, fits in 64 bits.
fn parse_decimal(s: &[u8]) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.iter().all(u8::is_ascii_digit) && (s == b"0" || s[0] != b'0');
    if !canonical {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "example.com/log\n2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u{2014} example.com/log AAAAAQE=\n";

    #[test]
    fn parses_and_encodes() {
        let hash = [7u8; 32];
        let body = AddCheckpoint::encode(1, &[hash], NOTE.as_bytes());
        let req = AddCheckpoint::parse(&body).unwrap();
        assert_eq!(req.old_size(), 1);
        assert_eq!(req.proof(), &[hash]);
        assert_eq!(req.checkpoint().size(), 2);
        assert_eq!(req.note().to_bytes(), NOTE.as_bytes());
    }

    #[test]
    fn refuses_malformed_bodies() {
        let malformed = |body: &str| {
            assert!(
                matches!(
                    AddCheckpoint::parse(body.as_bytes()),
                    Err(Refusal::Malformed { .. })
                ),
                "{body:?}"
            )
        };
        malformed("");
        malformed("old 1");
        malformed("old 01\n\n");
        malformed("old -1\n\n");
        malformed("old 1 \n\n");
        malformed("Old 1\n\n");
        malformed("old 18446744073709551616\n\n");
        malformed("old 1\nAAAA\n\n");
        malformed("old 1\nnot base64!\n\n");
        // No blank line before the note.
        malformed(&format!("old 0\n{NOTE}"));
        let too_long = format!(
            "old 1\n{}\n",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(MAX_PROOF_LINES + 1)
        );
        malformed(&too_long);
        assert!(matches!(
            AddCheckpoint::parse(b"old 0\n\nnot a note\n"),
            Err(Refusal::MalformedNote(_))
        ));
        assert!(matches!(
            AddCheckpoint::parse(
                "old 0\n\nnot a checkpoint\n\n\u{2014} example.com/log AAAAAQE=\n".as_bytes()
            ),
            Err(Refusal::MalformedCheckpoint(_))
        ));
        let max = format!(
            "old 1\n{}\n{NOTE}",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(MAX_PROOF_LINES)
        );
        assert_eq!(
            AddCheckpoint::parse(max.as_bytes()).unwrap().proof().len(),
            MAX_PROOF_LINES
        );
    }
}
