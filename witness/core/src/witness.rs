//! The decisions of `add-checkpoint`, in the order the spec gives them.

use tlog::checkpoint::Checkpoint;
use tlog::merkle::{empty_root, verify_consistency, Hash};
use tlog::note::{Note, NoteSignature};

use crate::{AddCheckpoint, LogList, Refusal};

/// What the witness holds for a log: the size and root of the latest checkpoint it cosigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// The tree size.
    pub size: u64,
    /// The root hash.
    pub root_hash: Hash,
}

/// Decides `add-checkpoint` requests for the logs it follows.
#[derive(Debug, Clone)]
pub struct Witness {
    logs: LogList,
}

impl Witness {
    /// A witness following `logs`.
    pub fn new(logs: LogList) -> Self {
        Witness { logs }
    }

    /// The logs followed.
    pub fn logs(&self) -> &LogList {
        &self.logs
    }

    /// The checks that need no stored state: the origin is a log this witness follows
    /// ([`Refusal::UnknownLog`], 404), the log signed the checkpoint
    /// ([`Refusal::NotSignedByLog`], 403), and the old size is not above the checkpoint's
    /// ([`Refusal::OldSizeTooLarge`], 400).
    pub fn verify(&self, request: AddCheckpoint) -> Result<VerifiedCheckpoint, Refusal> {
        let origin = request.checkpoint.origin();
        let log = self.logs.get(origin).ok_or_else(|| Refusal::UnknownLog {
            origin: origin.to_string(),
        })?;
        log.verify(&request.note, &request.checkpoint)?;
        if request.old_size > request.checkpoint.size() {
            return Err(Refusal::OldSizeTooLarge {
                old: request.old_size,
                size: request.checkpoint.size(),
            });
        }
        let log_signatures = request
            .note
            .signatures()
            .iter()
            .filter(|s| log.is_log_signature(s))
            .cloned()
            .collect();
        Ok(VerifiedCheckpoint {
            request,
            log_signatures,
        })
    }
}

/// A request whose checkpoint the log signed, not yet checked against what the witness holds.
#[derive(Debug, Clone)]
pub struct VerifiedCheckpoint {
    request: AddCheckpoint,
    /// The note's signatures by the log's trusted keys, all verified.
    log_signatures: Vec<NoteSignature>,
}

impl VerifiedCheckpoint {
    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.request.checkpoint
    }

    /// The checkpoint's note as submitted (the log's signatures, and any others).
    pub fn note(&self) -> &Note {
        &self.request.note
    }

    /// The note's signatures by the log's trusted keys, all verified: what a witness keeps and
    /// serves beside its cosignature. Other lines (other witnesses, unknown keys) were not
    /// checked, and a client that knows their keys would reject a note where they do not
    /// verify, so they are not passed on.
    pub fn log_signatures(&self) -> &[NoteSignature] {
        &self.log_signatures
    }

    /// The `old` size.
    pub fn old_size(&self) -> u64 {
        self.request.old_size
    }

    /// Checks the checkpoint against `held`, what the witness holds for the log (`None` if it
    /// never cosigned one), and returns what it must hold once it cosigns this one.
    ///
    /// - The old size must be the held size, or 0 when nothing is held
    ///   ([`Refusal::OldSizeMismatch`], 409).
    /// - A checkpoint of size 0 must have the empty tree's root ([`Refusal::EmptyTreeRoot`]).
    /// - From old size 0 the proof must be empty ([`Refusal::UnexpectedProof`]); otherwise it
    ///   must prove the held tree a prefix of the new one, and equal sizes need equal roots
    ///   ([`Refusal::Inconsistent`]); all 422.
    ///
    /// The caller MUST store the result with a compare-and-swap against exactly `held`, and cosign
    /// only if that succeeds.
    pub fn advance(&self, held: Option<&Held>) -> Result<Held, Refusal> {
        let old = self.request.old_size;
        let held_size = held.map_or(0, |h| h.size);
        if old != held_size {
            return Err(Refusal::OldSizeMismatch {
                old,
                held: held_size,
            });
        }
        let checkpoint = &self.request.checkpoint;
        let new = Held {
            size: checkpoint.size(),
            root_hash: *checkpoint.root_hash(),
        };
        if new.size == 0 && new.root_hash != empty_root() {
            return Err(Refusal::EmptyTreeRoot);
        }
        match held.filter(|_| old > 0) {
            None if self.request.proof.is_empty() => {}
            None => return Err(Refusal::UnexpectedProof),
            Some(held) => verify_consistency(
                held.size,
                new.size,
                &self.request.proof,
                &held.root_hash,
                &new.root_hash,
            )
            .map_err(Refusal::Inconsistent)?,
        }
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Log, LogKey};
    use proptest::prelude::*;
    use sigstack_keys::{Algorithm, Signer as _, SoftwareKey};
    use std::sync::Arc;
    use tlog::merkle::{consistency_proof, leaf_hash, MemoryTree};
    use tlog::note::NoteSigner;

    const ORIGIN: &str = "example.com/log";

    struct Fixture {
        witness: Witness,
        signer: NoteSigner,
        tree: MemoryTree,
    }

    fn fixture() -> Fixture {
        let signer =
            NoteSigner::ed25519(ORIGIN, Arc::new(SoftwareKey::ed25519_from_seed(&[9; 32])))
                .unwrap();
        let key = LogKey::from_vkey(&signer.verifier().to_vkey()).unwrap();
        let logs = LogList::new(vec![Log::new(ORIGIN, vec![key]).unwrap()]).unwrap();
        let tree = MemoryTree::from_leaf_hashes((0..40u32).map(|i| leaf_hash(&i.to_be_bytes())));
        Fixture {
            witness: Witness::new(logs),
            signer,
            tree,
        }
    }

    impl Fixture {
        fn root(&self, size: u64) -> Hash {
            MemoryTree::from_leaf_hashes((0..size as u32).map(|i| leaf_hash(&i.to_be_bytes())))
                .root()
        }

        fn note(&self, size: u64) -> Vec<u8> {
            Checkpoint::new(ORIGIN, size, self.root(size))
                .unwrap()
                .sign(&[&self.signer])
                .unwrap()
                .to_bytes()
        }

        fn request(&self, old: u64, new: u64) -> AddCheckpoint {
            let proof = if old == 0 {
                Vec::new()
            } else {
                consistency_proof(old, new, &self.tree).unwrap()
            };
            AddCheckpoint::parse(&AddCheckpoint::encode(old, &proof, &self.note(new))).unwrap()
        }

        fn held(&self, size: u64) -> Held {
            Held {
                size,
                root_hash: self.root(size),
            }
        }
    }

    #[test]
    fn a_growing_log_advances() {
        let f = fixture();
        let first = f.witness.verify(f.request(0, 5)).unwrap();
        assert_eq!(first.advance(None).unwrap(), f.held(5));
        let next = f.witness.verify(f.request(5, 17)).unwrap();
        assert_eq!(next.advance(Some(&f.held(5))).unwrap(), f.held(17));
        // The same checkpoint again is consistent.
        let same = f.witness.verify(f.request(17, 17)).unwrap();
        assert_eq!(same.advance(Some(&f.held(17))).unwrap(), f.held(17));
    }

    #[test]
    fn refusals() {
        let f = fixture();
        // Rolled back: the old size is not what is held.
        let back = f.witness.verify(f.request(0, 5)).unwrap();
        assert!(matches!(
            back.advance(Some(&f.held(17))),
            Err(Refusal::OldSizeMismatch { old: 0, held: 17 })
        ));
        // Old above new.
        let body = AddCheckpoint::encode(9, &[], &f.note(5));
        assert!(matches!(
            f.witness.verify(AddCheckpoint::parse(&body).unwrap()),
            Err(Refusal::OldSizeTooLarge { old: 9, size: 5 })
        ));
        // A proof that does not lead to the held root.
        let fork = Held {
            size: 5,
            root_hash: [1; 32],
        };
        let v = f.witness.verify(f.request(5, 17)).unwrap();
        assert!(matches!(
            v.advance(Some(&fork)),
            Err(Refusal::Inconsistent(_))
        ));
        // Same size, another root.
        let v = f.witness.verify(f.request(5, 5)).unwrap();
        assert!(matches!(
            v.advance(Some(&fork)),
            Err(Refusal::Inconsistent(_))
        ));
        // A proof from old size 0.
        let body = AddCheckpoint::encode(0, &[[0; 32]], &f.note(5));
        let v = f
            .witness
            .verify(AddCheckpoint::parse(&body).unwrap())
            .unwrap();
        assert!(matches!(v.advance(None), Err(Refusal::UnexpectedProof)));
        // Size 0 with a root other than the empty tree's.
        let bad_empty = Checkpoint::new(ORIGIN, 0, [2; 32])
            .unwrap()
            .sign(&[&f.signer])
            .unwrap()
            .to_bytes();
        let v = f
            .witness
            .verify(AddCheckpoint::parse(&AddCheckpoint::encode(0, &[], &bad_empty)).unwrap())
            .unwrap();
        assert!(matches!(v.advance(None), Err(Refusal::EmptyTreeRoot)));
        // The empty tree itself is fine.
        let v = f.witness.verify(f.request(0, 0)).unwrap();
        assert_eq!(v.advance(None).unwrap(), f.held(0));
    }

    #[test]
    fn signatures_and_origins() {
        let f = fixture();
        // Unknown origin.
        let other = NoteSigner::ed25519(
            "other.example/log",
            Arc::new(SoftwareKey::ed25519_from_seed(&[9; 32])),
        )
        .unwrap();
        let note = Checkpoint::new("other.example/log", 1, [0; 32])
            .unwrap()
            .sign(&[&other])
            .unwrap()
            .to_bytes();
        let req = AddCheckpoint::parse(&AddCheckpoint::encode(0, &[], &note)).unwrap();
        assert!(matches!(
            f.witness.verify(req),
            Err(Refusal::UnknownLog { .. })
        ));
        // Signed by an unknown key under the log's name.
        let stranger =
            NoteSigner::ed25519(ORIGIN, Arc::new(SoftwareKey::ed25519_from_seed(&[8; 32])))
                .unwrap();
        let note = Checkpoint::new(ORIGIN, 1, [0; 32])
            .unwrap()
            .sign(&[&stranger])
            .unwrap()
            .to_bytes();
        let req = AddCheckpoint::parse(&AddCheckpoint::encode(0, &[], &note)).unwrap();
        assert!(matches!(
            f.witness.verify(req),
            Err(Refusal::NotSignedByLog { .. })
        ));
        // The log's signature altered.
        let mut note = f.note(5);
        let text_len = String::from_utf8(note.clone())
            .unwrap()
            .find("\n\n")
            .unwrap();
        note[text_len - 2] = if note[text_len - 2] == b'A' {
            b'B'
        } else {
            b'A'
        };
        let req = AddCheckpoint::parse(&AddCheckpoint::encode(0, &[], &note)).unwrap();
        assert!(matches!(
            f.witness.verify(req),
            Err(Refusal::NotSignedByLog { .. })
        ));
        // A stranger's signature next to the log's is ignored.
        let both = Checkpoint::new(ORIGIN, 5, f.root(5))
            .unwrap()
            .sign(&[&stranger, &f.signer])
            .unwrap()
            .to_bytes();
        let req = AddCheckpoint::parse(&AddCheckpoint::encode(0, &[], &both)).unwrap();
        let verified = f.witness.verify(req).unwrap();
        // Only the log's own, verified, signature is kept.
        assert_eq!(verified.log_signatures().len(), 1);
        assert_eq!(verified.log_signatures()[0].name(), ORIGIN);
        assert_eq!(verified.log_signatures()[0].key_hash(), f.signer.key_hash());
    }

    #[test]
    fn ecdsa_and_rfc6962_logs() {
        let p256 = Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256));
        let rekor_v1 = NoteSigner::ecdsa_rekor("rekor.example", p256.clone()).unwrap();
        let ct_origin = "ct.example/log";
        let ct_key = LogKey::rfc6962(ct_origin, p256.public_key_der()).unwrap();
        let ct_key = LogKey::from_vkey(&ct_key.to_vkey()).unwrap();
        let logs = LogList::new(vec![
            Log::new(
                "rekor.example - 1",
                vec![LogKey::from_vkey(&rekor_v1.verifier().to_vkey()).unwrap()],
            )
            .unwrap(),
            Log::new(ct_origin, vec![ct_key]).unwrap(),
        ])
        .unwrap();
        let witness = Witness::new(logs);
        let note = Checkpoint::new("rekor.example - 1", 0, empty_root())
            .unwrap()
            .sign(&[&rekor_v1])
            .unwrap()
            .to_bytes();
        let req = AddCheckpoint::parse(&AddCheckpoint::encode(0, &[], &note)).unwrap();
        witness.verify(req).unwrap();

        let checkpoint = Checkpoint::new(ct_origin, 0, empty_root()).unwrap();
        let sig =
            ct::sign_rfc6962_checkpoint(p256.as_ref(), &checkpoint, 1_700_000_000_000).unwrap();
        let note = Note::new(checkpoint.to_body(), vec![sig.clone()])
            .unwrap()
            .to_bytes();
        let req = AddCheckpoint::parse(&AddCheckpoint::encode(0, &[], &note)).unwrap();
        witness.verify(req).unwrap();
        // The same signature over another tree does not verify.
        let moved = Checkpoint::new(ct_origin, 1, [0; 32]).unwrap();
        let note = Note::new(moved.to_body(), vec![sig]).unwrap().to_bytes();
        let req = AddCheckpoint::parse(&AddCheckpoint::encode(0, &[], &note)).unwrap();
        assert!(matches!(
            witness.verify(req),
            Err(Refusal::NotSignedByLog { .. })
        ));
        // A type 0x05 key whose ID was written for another origin is refused.
        let other = LogKey::rfc6962("elsewhere", p256.public_key_der())
            .unwrap()
            .to_vkey();
        let forged = other.replacen("elsewhere", ct_origin, 1);
        assert!(LogKey::from_vkey(&forged).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// From any held size, a checkpoint of any size at or above it with the proof the log
        /// makes advances; any other held size is a 409 naming it; a flipped proof hash is a 422.
        #[test]
        fn consistency_from_the_held_size(held in 1u64..40, extra in 0u64..20, wrong in 0u64..40, flip in 0usize..64) {
            let f = fixture();
            let new = (held + extra).min(40);
            let v = f.witness.verify(f.request(held, new)).unwrap();
            prop_assert_eq!(v.advance(Some(&f.held(held))).unwrap(), f.held(new));
            if wrong != held {
                let mismatch = matches!(
                    v.advance(Some(&f.held(wrong))),
                    Err(Refusal::OldSizeMismatch { held: h, .. }) if h == wrong
                );
                prop_assert!(mismatch);
            }
            let mut proof = consistency_proof(held, new, &f.tree).unwrap();
            if !proof.is_empty() {
                let i = flip % proof.len();
                proof[i][0] ^= 1;
                let body = AddCheckpoint::encode(held, &proof, &f.note(new));
                let v = f.witness.verify(AddCheckpoint::parse(&body).unwrap()).unwrap();
                prop_assert!(matches!(v.advance(Some(&f.held(held))), Err(Refusal::Inconsistent(_))));
            }
        }
    }
}
