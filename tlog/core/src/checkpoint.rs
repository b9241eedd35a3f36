//! C2SP tlog-checkpoint: a log's signed tree head, carried as the text of a signed note.
//!
//! A checkpoint body ([c2sp.org/tlog-checkpoint]) is
//!
//! ```text
//! <origin>\n                  the log's identity, e.g. "example.com/log" or, for Rekor v1,
//!                             "rekor.sigstore.dev - 1193050959916656506" (spaces allowed)
//! <tree size>\n               ASCII decimal, no leading zeros ("0" for the empty tree)
//! <base64 root hash>\n        the RFC 6962 root of the tree at that size (32 bytes)
//! [<extension line>\n]*       optional, opaque, non-empty (Rekor v1 once used "Timestamp: …")
//! ```
//!
//! Parsing is strict, so that a parsed checkpoint serialises back to the same bytes and two
//! different bodies can never describe the same checkpoint. Signing and verification are those
//! of [`crate::note`]: [`Checkpoint::sign`] produces the note a log publishes, and
//! [`Checkpoint::open`] is what a client runs on one.
//!
//! [c2sp.org/tlog-checkpoint]: https://c2sp.org/tlog-checkpoint

use std::fmt::Write as _;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::note::{Note, NoteError, NoteSigner, NoteVerifier};

/// Errors from building, parsing or opening a checkpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The signed note around the checkpoint is malformed or does not verify.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The body does not end with a newline.
    #[error("checkpoint body does not end with a newline")]
    NotTerminated,
    /// The body has fewer than the three mandatory lines.
    #[error("checkpoint body has {lines} line(s); it needs at least three: origin, tree size and root hash")]
    MissingLines {
        /// How many lines the body has.
        lines: usize,
    },
    /// The origin (first line) is empty.
    #[error("checkpoint origin (the first line) is empty")]
    EmptyOrigin,
    /// An origin or extension line contains a newline or another control character.
    #[error("checkpoint origin or extension line contains a newline or control character")]
    ControlCharacter,
    /// The tree size line is not a canonical decimal `u64`.
    #[error("checkpoint tree size (the second line) must be a decimal number with no sign and no leading zeros that fits in 64 bits")]
    InvalidTreeSize,
    /// The root hash line is not canonical base64 of 32 bytes.
    #[error(
        "checkpoint root hash (the third line) must be the standard base64 encoding of 32 bytes"
    )]
    InvalidRootHash,
    /// An extension line is empty.
    #[error("checkpoint extension line {index} is empty; extension lines must be non-empty")]
    EmptyExtension {
        /// Position among the extension lines, from 0.
        index: usize,
    },
}

/// A log checkpoint: origin, tree size, root hash and optional extension lines.
///
/// Always valid: every constructor checks the fields, so [`Checkpoint::to_body`] is a body that
/// [`Checkpoint::parse_body`] accepts and signing never fails because of the body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root_hash: [u8; 32],
    extensions: Vec<String>,
}

/// Checks an origin or extension line: it must fit on one line of note text.
fn check_line(line: &str) -> Result<(), CheckpointError> {
    if line.bytes().any(|b| b < 0x20) {
        return Err(CheckpointError::ControlCharacter);
    }
    Ok(())
}

fn parse_size(line: &str) -> Result<u64, CheckpointError> {
    // u64::from_str alone would accept "+5" and "007".
    let canonical = !line.is_empty()
        && line.bytes().all(|b| b.is_ascii_digit())
        && (line == "0" || !line.starts_with('0'));
    if !canonical {
        return Err(CheckpointError::InvalidTreeSize);
    }
    line.parse().map_err(|_| CheckpointError::InvalidTreeSize)
}

fn parse_root_hash(line: &str) -> Result<[u8; 32], CheckpointError> {
    // Canonical base64 only (padding and zero trailing bits), so the encoding is unique.
    let raw = BASE64
        .decode(line)
        .map_err(|_| CheckpointError::InvalidRootHash)?;
    raw.try_into().map_err(|_| CheckpointError::InvalidRootHash)
}

impl Checkpoint {
    /// A checkpoint with no extension lines. `origin` must be non-empty and fit on one line.
    pub fn new(
        origin: impl Into<String>,
        size: u64,
        root_hash: [u8; 32],
    ) -> Result<Self, CheckpointError> {
        let origin = origin.into();
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        check_line(&origin)?;
        Ok(Checkpoint {
            origin,
            size,
            root_hash,
            extensions: Vec::new(),
        })
    }

    /// Replaces the extension lines; each must be non-empty and fit on one line. The spec
    /// discourages extensions because monitors cannot audit them; they exist for old formats.
    pub fn with_extensions(mut self, extensions: Vec<String>) -> Result<Self, CheckpointError> {
        for (index, line) in extensions.iter().enumerate() {
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtension { index });
            }
            check_line(line)?;
        }
        self.extensions = extensions;
        Ok(self)
    }

    /// Parses a checkpoint body (the text of its note). The note's signatures must have been
    /// verified first; [`Checkpoint::open`] does both.
    pub fn parse_body(body: &str) -> Result<Self, CheckpointError> {
        let body = body
            .strip_suffix('\n')
            .ok_or(CheckpointError::NotTerminated)?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [origin, size, root_hash, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::MissingLines { lines: lines.len() });
        };
        let checkpoint = Checkpoint::new(*origin, parse_size(size)?, parse_root_hash(root_hash)?)?;
        checkpoint.with_extensions(extensions.iter().map(|s| s.to_string()).collect())
    }

    /// The body: origin, size, base64 root hash and extension lines, each ending in a newline.
    pub fn to_body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root_hash)
        );
        for line in &self.extensions {
            // Writing to a String cannot fail.
            let _ = writeln!(body, "{line}");
        }
        body
    }

    /// The origin: the log's identity. Clients must check it is the log they expect.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RFC 6962 root hash of the tree at [`Checkpoint::size`].
    pub fn root_hash(&self) -> &[u8; 32] {
        &self.root_hash
    }

    /// The extension lines, without their newlines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// Signs the body with every signer, giving the note a log publishes.
    pub fn sign(&self, signers: &[&NoteSigner]) -> Result<Note, NoteError> {
        Note::sign(&self.to_body(), signers)
    }

    /// Parses a signed checkpoint, verifies it against the trusted `verifiers` (see
    /// [`Note::verify`]: unknown signatures such as witness cosignatures are ignored) and parses
    /// its body. Returns the checkpoint and the note, whose signatures a caller may inspect
    /// further (for example, to count witnesses).
    pub fn open(
        note: &[u8],
        verifiers: &[NoteVerifier],
    ) -> Result<(Checkpoint, Note), CheckpointError> {
        let note = Note::parse(note)?;
        note.verify(verifiers)?;
        let checkpoint = Checkpoint::parse_body(note.text())?;
        Ok((checkpoint, note))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str =
        "example.com/log/testdata\n15\nrKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=\n";
    const ROOT: &str = "rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=";

    fn err(body: &str) -> CheckpointError {
        Checkpoint::parse_body(body).unwrap_err()
    }

    #[test]
    fn parses_and_round_trips() {
        let c = Checkpoint::parse_body(BODY).unwrap();
        assert_eq!(c.origin(), "example.com/log/testdata");
        assert_eq!(c.size(), 15);
        assert_eq!(c.root_hash()[0], 0xac);
        assert!(c.extensions().is_empty());
        assert_eq!(c.to_body(), BODY);
    }

    #[test]
    fn rekor_v1_origin_with_spaces_and_extension() {
        let body = format!("rekor.sigstore.dev - 2605736670972794746\n27657875\n{ROOT}\nTimestamp: 1692374735595899989\n");
        let c = Checkpoint::parse_body(&body).unwrap();
        assert_eq!(c.origin(), "rekor.sigstore.dev - 2605736670972794746");
        assert_eq!(c.extensions(), ["Timestamp: 1692374735595899989"]);
        assert_eq!(c.to_body(), body);
    }

    #[test]
    fn sizes_at_the_edges() {
        for (text, size) in [("0", 0), ("1", 1), ("18446744073709551615", u64::MAX)] {
            let c = Checkpoint::parse_body(&format!("o\n{text}\n{ROOT}\n")).unwrap();
            assert_eq!(c.size(), size);
        }
    }

    #[test]
    fn error_note() {
        let e = Checkpoint::open(b"not a note", &[]).unwrap_err();
        assert!(matches!(
            e,
            CheckpointError::Note(NoteError::MissingSeparator)
        ));
    }

    #[test]
    fn error_not_terminated() {
        assert!(matches!(err(""), CheckpointError::NotTerminated));
        assert!(matches!(
            err(BODY.trim_end()),
            CheckpointError::NotTerminated
        ));
    }

    #[test]
    fn error_missing_lines() {
        assert!(matches!(
            err("\n"),
            CheckpointError::MissingLines { lines: 1 }
        ));
        assert!(matches!(
            err("origin\n15\n"),
            CheckpointError::MissingLines { lines: 2 }
        ));
    }

    #[test]
    fn error_empty_origin() {
        assert!(matches!(
            err(&format!("\n1\n{ROOT}\n")),
            CheckpointError::EmptyOrigin
        ));
        assert!(matches!(
            Checkpoint::new("", 0, [0; 32]),
            Err(CheckpointError::EmptyOrigin)
        ));
    }

    #[test]
    fn error_control_character() {
        assert!(matches!(
            err(&format!("o\r\n1\n{ROOT}\n")),
            CheckpointError::ControlCharacter
        ));
        assert!(matches!(
            Checkpoint::new("a\nb", 0, [0; 32]),
            Err(CheckpointError::ControlCharacter)
        ));
        let c = Checkpoint::new("o", 0, [0; 32]).unwrap();
        assert!(matches!(
            c.with_extensions(vec!["a\tb".into()]),
            Err(CheckpointError::ControlCharacter)
        ));
    }

    #[test]
    fn error_invalid_tree_size() {
        for bad in [
            "",
            "00",
            "015",
            "+15",
            "-1",
            " 15",
            "15 ",
            "1_5",
            "0x0f",
            "18446744073709551616",
            "١٥",
        ] {
            assert!(
                matches!(
                    err(&format!("o\n{bad}\n{ROOT}\n")),
                    CheckpointError::InvalidTreeSize
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn error_invalid_root_hash() {
        for bad in [
            "",
            "rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs",
            "rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383ct=",
            "rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja_1nk427v383cs=",
            "AAAA",
            "rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=AAAA",
        ] {
            assert!(
                matches!(
                    err(&format!("o\n1\n{bad}\n")),
                    CheckpointError::InvalidRootHash
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn error_empty_extension() {
        assert!(matches!(
            err(&format!("{BODY}\n")),
            CheckpointError::EmptyExtension { index: 0 }
        ));
        assert!(matches!(
            err(&format!("{BODY}a\n\nb\n")),
            CheckpointError::EmptyExtension { index: 1 }
        ));
    }

    #[test]
    fn sign_then_open() {
        let signer = NoteSigner::from_skey(
            "PRIVATE+KEY+example.com/log/testdata+33d7b496+AeymY/SZAX0jZcJ8enZ5FY1Dz+wTML2yWSkK+9DSF3eg",
        )
        .unwrap();
        let c = Checkpoint::new("example.com/log/testdata", 3, [7; 32])
            .unwrap()
            .with_extensions(vec!["ext one".into()])
            .unwrap();
        let note = c.sign(&[&signer]).unwrap();
        let (opened, note2) =
            Checkpoint::open(&note.to_bytes(), &[signer.verifier().clone()]).unwrap();
        assert_eq!(opened, c);
        assert_eq!(note2, note);
    }
}
