//! Late integration: a log that integrates entries later than it promised.
//!
//! A CT log's SCT promises that the entry will be in the tree within the log's maximum merge
//! delay (MMD, 24 hours for the logs browsers trust) of the SCT's timestamp. A monitor polls:
//! it does not see the first tree head that holds an entry, only the ones it fetched. What it
//! can prove is the negative: a tree head the log signed at time T without the entry (the
//! verified checkpoint the new entries extend, timestamp T in its RFC 6962 signature) while
//! the SCT's timestamp plus the MMD was already past at T. That tree head, signed by the log,
//! is the evidence ([`LateEntries`]).
//!
//! A Rekor v2 log answers a new entry only once it is in the tree, with the checkpoint that
//! holds it; its promise is that readers see that tree too. Its checkpoints carry no time, so
//! the monitor takes the witnesses' cosignature timestamps: a witness that cosigned size N at
//! time W, while the log still serves its readers a smaller tree after W plus the configured
//! delay, shows the log withholding entries it had integrated and answered ([`withheld`]).

use std::time::Duration;

use tlog::note::Note;
use witness::Log;

use crate::{Finding, FindingKind, Verified};

/// The maximum merge delay of RFC 6962 logs (and of ours): the default of a followed log.
pub const DEFAULT_MAX_MERGE_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The timestamp (milliseconds since the Unix epoch) of the log's RFC 6962 tree head
/// signature on `note` (a static-ct-api checkpoint), if the log signs that way.
pub fn tree_head_time(log: &Log, note: &[u8]) -> Option<u64> {
    let note = Note::parse(note).ok()?;
    note.signatures().iter().find_map(|sig| {
        log.keys()
            .iter()
            .any(|k| k.is_rfc6962() && k.name() == sig.name() && k.key_hash() == sig.key_hash())
            .then(|| ct::Rfc6962NoteSignature::parse(sig.signature()).ok())
            .flatten()
            .map(|body| body.timestamp)
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The check of the entries a verified tree head (`held`, signed at `held_time`) did not hold:
/// [`LateEntries::push`] each one's index and SCT timestamp, then [`LateEntries::finish`].
#[derive(Debug, Clone)]
pub struct LateEntries {
    held_time: u64,
    max_merge_delay: u64,
    late: u64,
    first: Option<(u64, u64)>,
}

impl LateEntries {
    /// Entries not in the tree the log signed at `held_time` (milliseconds) must have SCTs
    /// younger than `max_merge_delay` at that time.
    pub fn new(held_time: u64, max_merge_delay: Duration) -> Self {
        LateEntries {
            held_time,
            max_merge_delay: millis(max_merge_delay),
            late: 0,
            first: None,
        }
    }

    /// Entry `index`, whose SCT is dated `sct_time` (milliseconds).
    pub fn push(&mut self, index: u64, sct_time: u64) {
        if sct_time.saturating_add(self.max_merge_delay) < self.held_time {
            self.late += 1;
            self.first.get_or_insert((index, sct_time));
        }
    }

    /// One finding for all the late entries of the round, naming the first, with the tree
    /// head that lacked them as evidence.
    pub fn finish(self, url: &str, held: &Verified) -> Option<Finding> {
        let (index, sct_time) = self.first?;
        let mut finding = Finding::about_log(
            FindingKind::LateIntegration,
            url,
            format!(
                "{} entries were integrated after the maximum merge delay ({} ms): entry {index}, \
                 SCT at {sct_time} ms, is not in the tree of size {} the log signed at {} ms",
                self.late,
                self.max_merge_delay,
                held.size(),
                self.held_time
            ),
        )
        .with_checkpoint(held.note());
        finding.index = Some(index);
        Some(finding)
    }
}

/// A checkpoint of the log a witness cosigned.
#[derive(Debug, Clone, Copy)]
pub struct Cosigned<'a> {
    /// Who cosigned it, in words (`witness <url>`).
    pub by: &'a str,
    /// Its tree size.
    pub size: u64,
    /// The cosignature's timestamp, seconds since the Unix epoch.
    pub at: u64,
    /// The cosigned note, as the witness served it.
    pub note: &'a [u8],
}

/// The witness cosigned `witnessed`, and at `served_at` (milliseconds) the log served this
/// monitor the smaller tree `ours`: a finding if that was longer than `max_delay` after the
/// cosignature.
pub fn withheld(
    url: &str,
    ours: &Verified,
    served_at: u64,
    witnessed: Cosigned<'_>,
    max_delay: Duration,
) -> Option<Finding> {
    let cosigned_ms = witnessed.at.saturating_mul(1000);
    let late =
        witnessed.size > ours.size() && cosigned_ms.saturating_add(millis(max_delay)) < served_at;
    late.then(|| {
        Finding::about_log(
            FindingKind::LateIntegration,
            url,
            format!(
                "{} cosigned size {} at {cosigned_ms} ms, and the log still served size {} at \
                 {served_at} ms, past the maximum delay ({} ms)",
                witnessed.by,
                witnessed.size,
                ours.size(),
                millis(max_delay)
            ),
        )
        .with_checkpoint(witnessed.note)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstack_keys::{Algorithm, Signer, SoftwareKey};
    use std::sync::Arc;
    use tlog::checkpoint::Checkpoint;
    use witness::LogKey;

    const ORIGIN: &str = "ct.example/log";

    fn key() -> Arc<SoftwareKey> {
        Arc::new(SoftwareKey::generate(Algorithm::EcdsaP256Sha256))
    }

    fn ct_log(key: &SoftwareKey) -> Log {
        Log::new(
            ORIGIN,
            vec![LogKey::rfc6962(ORIGIN, key.public_key_der()).unwrap()],
        )
        .unwrap()
    }

    fn sth(key: &SoftwareKey, size: u64, time: u64) -> Vec<u8> {
        let checkpoint = Checkpoint::new(ORIGIN, size, [7; 32]).unwrap();
        let signature = ct::sign_rfc6962_checkpoint(key, &checkpoint, time).unwrap();
        tlog::note::Note::new(checkpoint.to_body(), vec![signature])
            .unwrap()
            .to_bytes()
    }

    #[test]
    fn the_tree_head_time_is_read_from_the_logs_rfc6962_signature_only() {
        let k = key();
        let note = sth(&k, 3, 1_700_000_000_123);
        assert_eq!(tree_head_time(&ct_log(&k), &note), Some(1_700_000_000_123));
        // Another key's signature gives no time, nor does garbage.
        assert_eq!(tree_head_time(&ct_log(&key()), &note), None);
        assert_eq!(tree_head_time(&ct_log(&k), b"<html>"), None);
    }

    #[test]
    fn a_newer_tree_head_of_the_same_tree_refreshes_the_state() {
        use crate::follow::{observe, Observation};
        let k = key();
        let log = ct_log(&k);
        let first = match observe(&log, "u", None, &sth(&k, 3, 1_000)).unwrap() {
            Observation::First(v) => v,
            other => panic!("{other:?}"),
        };
        let newer = sth(&k, 3, 2_000);
        match observe(&log, "u", Some(&first), &newer).unwrap() {
            Observation::Refreshed(v) => {
                assert_eq!((v.size(), v.note()), (3, newer.as_slice()));
                // Then an older one (or the same) changes nothing.
                assert!(matches!(
                    observe(&log, "u", Some(&v), &sth(&k, 3, 1_500)).unwrap(),
                    Observation::Unchanged
                ));
                assert!(matches!(
                    observe(&log, "u", Some(&v), &newer).unwrap(),
                    Observation::Unchanged
                ));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn entries_missing_from_a_tree_head_past_their_mmd_are_late() {
        let held = Verified::restore(10, [1; 32], b"held note".to_vec());
        let mmd = Duration::from_secs(60);
        // Signed at t = 100 s: SCTs from before 40 s were due in it.
        let mut check = LateEntries::new(100_000, mmd);
        check.push(10, 40_000); // exactly due: not late
        check.push(11, 99_000);
        assert!(check.finish("http://ct", &held).is_none());
        let mut check = LateEntries::new(100_000, mmd);
        check.push(10, 50_000);
        check.push(11, 39_999);
        check.push(12, 1_000);
        let f = check.finish("http://ct", &held).unwrap();
        assert_eq!(f.kind, FindingKind::LateIntegration);
        assert_eq!(f.index, Some(11));
        assert!(f.detail.starts_with("2 entries"), "{}", f.detail);
        assert_eq!(f.checkpoint.as_deref(), Some("held note"));
    }

    #[test]
    fn a_tree_smaller_than_the_witnessed_one_past_the_delay_is_withheld() {
        let ours = Verified::restore(5, [1; 32], Vec::new());
        let delay = Duration::from_secs(2);
        let call = |size, at, served_ms| {
            let witnessed = Cosigned {
                by: "witness w",
                size,
                at,
                note: b"w",
            };
            withheld("u", &ours, served_ms, witnessed, delay)
        };
        assert!(call(8, 100, 102_000).is_none(), "within the delay");
        assert!(call(5, 1, 102_000).is_none(), "not larger");
        assert!(call(4, 1, 102_000).is_none(), "smaller");
        let f = call(8, 100, 102_001).unwrap();
        assert_eq!(f.kind, FindingKind::LateIntegration);
        assert!(
            f.detail.contains("witness w cosigned size 8"),
            "{}",
            f.detail
        );
    }
}
