//! A log's side of [c2sp.org/tlog-witness]: [`WitnessClient::add_checkpoint`] submits a new
//! checkpoint to one witness with a consistency proof from the size that witness holds, and
//! [`cosign`] does it for every configured witness at once, attaching the valid cosignatures
//! to the checkpoint and checking the result against a [`WitnessPolicy`].
//!
//! Each client remembers the size its witness last cosigned (in memory: after a restart the
//! first submission says `old 0`, gets a 409 with the size the witness holds, and retries from
//! it, as the spec intends). Every decision about the witness's answers is the pure
//! [`witness`] crate's; this crate adds HTTP and the log's proofs ([`ConsistencyProofs`]).
//!
//! [c2sp.org/tlog-witness]: https://c2sp.org/tlog-witness

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tlog::checkpoint::Checkpoint;
use tlog::merkle::Hash;
use tlog::note::{Note, NoteSignature};
use witness::{AddCheckpoint, AnswerError, CosignatureVerifier, PolicyError, WitnessPolicy};

/// Where a log's consistency proofs come from.
#[async_trait]
pub trait ConsistencyProofs: Send + Sync {
    /// The RFC 6962 consistency proof from the tree of `old` leaves (`0 < old < new`) to the
    /// tree of `new` leaves, which MUST be the log's own.
    async fn consistency_proof(
        &self,
        old: u64,
        new: u64,
    ) -> Result<Vec<Hash>, Box<dyn std::error::Error + Send + Sync>>;
}

#[async_trait]
impl ConsistencyProofs for tlog_store::Log {
    async fn consistency_proof(
        &self,
        old: u64,
        new: u64,
    ) -> Result<Vec<Hash>, Box<dyn std::error::Error + Send + Sync>> {
        Ok(tlog_store::Log::consistency_proof(self, old, new).await?)
    }
}

/// Why a witness did not cosign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The checkpoint could not be read.
    #[error("the checkpoint is not a checkpoint")]
    Checkpoint(#[source] tlog::checkpoint::CheckpointError),
    /// The log could not prove consistency from the witness's size.
    #[error("no consistency proof from {old} to {new}")]
    Proof {
        /// The witness's size.
        old: u64,
        /// The checkpoint's size.
        new: u64,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The witness could not be reached or did not answer in time.
    #[error("the witness at {url} could not be reached")]
    Unreachable {
        /// Its URL.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The witness holds a checkpoint larger than this one (another instance of the log is
    /// ahead, or the log went back: never cosigned).
    #[error("the witness holds size {held}, above this checkpoint's {size}")]
    WitnessAhead {
        /// The size the witness holds.
        held: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The witness refused the checkpoint.
    #[error("the witness refused the checkpoint: {status} {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Its body (the reason).
        body: String,
    },
    /// The witness's answer is not usable.
    #[error("the witness's answer")]
    Answer(#[source] AnswerError),
}

impl SubmitError {
    /// Whether the witness already holds a later checkpoint of the log than the one submitted:
    /// what happens when several replicas of a log share its database and another one's
    /// submission won, or this replica's head is a round behind. Not a failure of anyone.
    pub fn is_witness_ahead(&self) -> bool {
        matches!(self, SubmitError::WitnessAhead { .. })
    }
}

/// One witness, as a log talks to it.
#[derive(Debug)]
pub struct WitnessClient {
    /// The submission prefix (`…/add-checkpoint` is appended).
    url: String,
    /// The URL published for the witness (tlog-policy files), if not `url`.
    public_url: Option<String>,
    verifier: CosignatureVerifier,
    http: reqwest::Client,
    /// The size this witness last cosigned for the log, as far as this process knows.
    held: Mutex<Option<u64>>,
}

/// How long one request to a witness may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl WitnessClient {
    /// The witness at `url` (its submission prefix) whose cosignatures `verifier` checks.
    pub fn new(url: &str, verifier: CosignatureVerifier) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(DEFAULT_TIMEOUT)
            .build()?;
        Ok(WitnessClient {
            url: url.trim_end_matches('/').to_string(),
            public_url: None,
            verifier,
            http,
            held: Mutex::new(None),
        })
    }

    /// The witness's submission prefix.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Publishes `url` for the witness (in tlog-policy files) instead of the one the log submits
    /// to: for a witness the log reaches by another route, such as one in the same process
    /// on loopback.
    pub fn with_public_url(mut self, url: &str) -> Self {
        self.public_url = Some(url.trim_end_matches('/').to_string());
        self
    }

    /// The URL published for the witness: the public one if given, else the submission prefix.
    pub fn public_url(&self) -> &str {
        self.public_url.as_deref().unwrap_or(&self.url)
    }

    /// The witness's verifier.
    pub fn verifier(&self) -> &CosignatureVerifier {
        &self.verifier
    }

    /// Submits the signed checkpoint `note` and returns the witness's verified cosignature.
    ///
    /// The old size is the one this client last saw the witness hold (0 at first); on a 409 it
    /// learns the witness's size and retries once from it.
    pub async fn add_checkpoint(
        &self,
        note: &Note,
        proofs: &dyn ConsistencyProofs,
    ) -> Result<NoteSignature, SubmitError> {
        let checkpoint = Checkpoint::parse_body(note.text()).map_err(SubmitError::Checkpoint)?;
        let size = checkpoint.size();
        let mut old = self.held.lock().expect("held lock").unwrap_or(0);
        for _ in 0..2 {
            if old > size {
                return Err(SubmitError::WitnessAhead { held: old, size });
            }
            let proof = if old == 0 || old == size {
                Vec::new()
            } else {
                proofs
                    .consistency_proof(old, size)
                    .await
                    .map_err(|source| SubmitError::Proof {
                        old,
                        new: size,
                        source,
                    })?
            };
            let body = AddCheckpoint::encode(old, &proof, &note.to_bytes());
            let response = self
                .http
                .post(format!("{}/add-checkpoint", self.url))
                .body(body)
                .send()
                .await
                .map_err(|source| self.unreachable(source))?;
            let status = response.status().as_u16();
            let text = response
                .bytes()
                .await
                .map_err(|source| self.unreachable(source))?;
            match status {
                200 => {
                    let text = String::from_utf8_lossy(&text);
                    let sig = witness::cosignature_in_answer(&text, note.text(), &self.verifier)
                        .map_err(SubmitError::Answer)?;
                    *self.held.lock().expect("held lock") = Some(size);
                    return Ok(sig);
                }
                409 => {
                    let held = witness::size_in_conflict(&text).map_err(SubmitError::Answer)?;
                    tracing::debug!(witness = %self.url, held, old, "the witness holds another size");
                    *self.held.lock().expect("held lock") = Some(held);
                    old = held;
                }
                _ => {
                    return Err(SubmitError::Refused {
                        status,
                        body: String::from_utf8_lossy(&text).trim().to_string(),
                    })
                }
            }
        }
        Err(SubmitError::Refused {
            status: 409,
            body: "the witness's size kept changing".into(),
        })
    }

    fn unreachable(&self, source: reqwest::Error) -> SubmitError {
        SubmitError::Unreachable {
            url: self.url.clone(),
            source,
        }
    }
}

/// What [`cosign`] gathered.
#[derive(Debug)]
pub struct Cosigned {
    /// The checkpoint with every valid cosignature attached after the log's signatures.
    pub note: Note,
    /// Per witness (in the order given), the error of those that did not cosign.
    pub failures: Vec<(String, SubmitError)>,
    /// Whether the policy is met.
    pub policy: Result<usize, PolicyError>,
}

/// Submits `note` to every witness at once, attaches the cosignatures they answer, and checks
/// the result against `policy`. A witness that fails is reported, never fatal: whether the
/// checkpoint may be served is the policy's answer.
pub async fn cosign(
    note: &Note,
    witnesses: &[WitnessClient],
    policy: &WitnessPolicy,
    proofs: &dyn ConsistencyProofs,
) -> Cosigned {
    let results =
        futures_util::future::join_all(witnesses.iter().map(|w| w.add_checkpoint(note, proofs)))
            .await;
    let mut signatures = note.signatures().to_vec();
    let mut failures = Vec::new();
    for (w, result) in witnesses.iter().zip(results) {
        match result {
            Ok(sig) => signatures.push(sig),
            Err(e) => {
                if e.is_witness_ahead() {
                    // Another replica of the log (on the same database) got a later checkpoint
                    // cosigned first: expected, not a fault of the witness or of the log.
                    tracing::debug!(witness = %w.url, error = %e, "the witness already holds a later checkpoint");
                } else {
                    tracing::warn!(witness = %w.url, error = %sigstack_http::error_chain(&e), "witness did not cosign");
                }
                failures.push((w.url.clone(), e));
            }
        }
    }
    let note = Note::new(note.text(), signatures).unwrap_or_else(|_| note.clone());
    let policy = policy.check(&note);
    Cosigned {
        note,
        failures,
        policy,
    }
}

/// A log's witnesses, its policy, and how often new checkpoints are submitted.
#[derive(Debug)]
pub struct Witnessing {
    /// The witnesses.
    pub witnesses: Vec<WitnessClient>,
    /// How many of them must cosign ([`WitnessPolicy`] over their verifiers).
    pub policy: WitnessPolicy,
    /// How often the log's head is looked at.
    pub interval: Duration,
    /// Whether a write waits for its checkpoint to be witnessed.
    pub mode: WitnessMode,
}

impl Witnessing {
    /// The policy as a C2SP tlog-policy file for the log whose checkpoint verifier key is
    /// `log_vkey`, reachable at `log_url`, with each witness's published URL.
    pub fn tlog_policy(&self, log_vkey: &str, log_url: Option<&str>) -> String {
        let urls: Vec<Option<&str>> = self
            .witnesses
            .iter()
            .map(|c| Some(c.public_url()))
            .collect();
        self.policy.to_tlog_policy(log_vkey, log_url, &urls)
    }
}

/// Whether a log's writes wait for the witnesses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WitnessMode {
    /// Entries are answered whatever the witnesses do; the witnessed checkpoint follows.
    #[default]
    FailOpen,
    /// A write is answered only once a checkpoint that contains it has met the policy; if none
    /// has within `timeout`, the write is refused as unavailable (the entry stays in the log).
    FailClosed {
        /// How long a write waits for the witnesses.
        timeout: Duration,
    },
}

/// A fail-closed write whose checkpoint the witnesses did not cosign in time. The entry is in
/// the log all the same: a retry of the same entry finds it there.
#[derive(Debug, thiserror::Error)]
#[error("the entry is logged, but no checkpoint of {size} leaves or more met the witness policy within {timeout:?}; retry")]
pub struct NotWitnessed {
    /// The size of the tree the write's entry is in.
    pub size: u64,
    /// How long the write waited.
    pub timeout: Duration,
}

impl From<NotWitnessed> for sigstack_http::ApiError {
    fn from(e: NotWitnessed) -> Self {
        sigstack_http::ApiError::unavailable(e.to_string())
    }
}

/// A checkpoint that met the witness policy.
#[derive(Debug, Clone)]
pub struct Witnessed {
    /// Its tree size.
    pub size: u64,
    /// Its root hash.
    pub root: Hash,
    /// The signed note: the log's signatures, then the witnesses' cosignatures.
    pub note: std::sync::Arc<Vec<u8>>,
}

/// The latest checkpoint of a log that met its witness policy, kept up to date by a background
/// task ([`WitnessedCheckpoint::spawn`]) that submits each new checkpoint to the witnesses.
///
/// Fail-open, what it holds is what clients that require cosignatures can fetch, and it lags
/// the log by at most one interval plus the witnesses' answers while they are reachable.
/// Fail-closed, a write waits for it ([`WitnessedCheckpoint::wait_for`]), which also wakes the
/// task so that the write's round is submitted at once rather than at the next interval.
#[derive(Debug)]
pub struct WitnessedCheckpoint {
    latest: tokio::sync::watch::Sender<Option<Witnessed>>,
    /// Wakes the background task before its interval is up.
    wake: std::sync::Arc<tokio::sync::Notify>,
    mode: WitnessMode,
}

impl WitnessedCheckpoint {
    /// The latest checkpoint that met the policy, with the log's signatures and the witnesses'
    /// cosignatures; `None` until one has.
    pub fn latest(&self) -> Option<std::sync::Arc<Vec<u8>>> {
        self.latest.borrow().as_ref().map(|w| w.note.clone())
    }

    /// The mode the log was configured with.
    pub fn mode(&self) -> WitnessMode {
        self.mode
    }

    /// Waits, at most `timeout`, for a checkpoint of at least `size` leaves to meet the policy
    /// and returns it; `None` if none did in time.
    pub async fn wait_for(&self, size: u64, timeout: Duration) -> Option<Witnessed> {
        let mut latest = self.latest.subscribe();
        self.wake.notify_one();
        let witnessed = tokio::time::timeout(
            timeout,
            latest.wait_for(|w| w.as_ref().is_some_and(|w| w.size >= size)),
        )
        .await
        .ok()?
        .ok()?;
        witnessed.clone()
    }

    /// What a write that made the log `size` leaves long waits for: fail-open, nothing
    /// (`Ok(None)`); fail-closed, a witnessed checkpoint of at least that size, or
    /// [`NotWitnessed`] once the mode's timeout is up.
    pub async fn settle(&self, size: u64) -> Result<Option<Witnessed>, NotWitnessed> {
        match self.mode {
            WitnessMode::FailOpen => Ok(None),
            WitnessMode::FailClosed { timeout } => self
                .wait_for(size, timeout)
                .await
                .map(Some)
                .ok_or(NotWitnessed { size, timeout }),
        }
    }

    /// Starts submitting `log`'s new checkpoints to `witnesses` every `interval` (and whenever
    /// a fail-closed write waits); the task ends when the returned handle is dropped.
    pub fn spawn(log: tlog_store::Log, witnessing: Witnessing) -> std::sync::Arc<Self> {
        let Witnessing {
            witnesses,
            policy,
            interval,
            mode,
        } = witnessing;
        let wake = std::sync::Arc::new(tokio::sync::Notify::new());
        let shared = std::sync::Arc::new(WitnessedCheckpoint {
            latest: tokio::sync::watch::Sender::new(None),
            wake: wake.clone(),
            mode,
        });
        let weak = std::sync::Arc::downgrade(&shared);
        tokio::spawn(async move {
            let mut witnessed_size = None;
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = wake.notified() => {}
                }
                let Some(shared) = weak.upgrade() else { return };
                let head = match log.head().await {
                    Ok(head) => head,
                    Err(e) => {
                        tracing::warn!(error = %sigstack_http::error_chain(&e), "witnessing: reading the log's head");
                        continue;
                    }
                };
                if witnessed_size.is_some_and(|s| s >= head.size) {
                    continue;
                }
                let note = match Note::parse(&head.checkpoint) {
                    Ok(note) => note,
                    Err(e) => {
                        tracing::error!(error = %sigstack_http::error_chain(&e), "witnessing: the log's checkpoint");
                        continue;
                    }
                };
                let got = cosign(&note, &witnesses, &policy, &log).await;
                match got.policy {
                    Ok(valid) => {
                        tracing::debug!(
                            origin = log.origin(),
                            tree_size = head.size,
                            cosignatures = valid,
                            "checkpoint witnessed"
                        );
                        shared.latest.send_replace(Some(Witnessed {
                            size: head.size,
                            root: head.root,
                            note: std::sync::Arc::new(got.note.to_bytes()),
                        }));
                        witnessed_size = Some(head.size);
                    }
                    // Witnesses ahead of this replica: the next round catches up, quietly.
                    Err(e)
                        if !got.failures.is_empty()
                            && got.failures.iter().all(|(_, f)| f.is_witness_ahead()) =>
                    {
                        tracing::debug!(origin = log.origin(), tree_size = head.size, error = %e, "checkpoint behind the witnesses'");
                    }
                    Err(e) => {
                        tracing::warn!(origin = log.origin(), tree_size = head.size, error = %e, "checkpoint not witnessed; retrying");
                    }
                }
            }
        });
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_file_names_the_witnesses_published_urls() {
        let verifier = witness::Cosigner::new(
            "w.example",
            std::sync::Arc::new(sigstack_keys::SoftwareKey::ed25519_from_seed(&[1; 32])),
        )
        .unwrap()
        .verifier()
        .clone();
        let witnessing = |client: WitnessClient| Witnessing {
            witnesses: vec![client],
            policy: WitnessPolicy::new(vec![verifier.clone()], 1).unwrap(),
            interval: Duration::from_secs(1),
            mode: WitnessMode::FailOpen,
        };
        let local = WitnessClient::new("http://127.0.0.1:3004/", verifier.clone()).unwrap();
        assert!(witnessing(local)
            .tlog_policy("log+00000000+AA==", None)
            .contains(" http://127.0.0.1:3004\n"));
        let published = WitnessClient::new("http://127.0.0.1:3004", verifier.clone())
            .unwrap()
            .with_public_url("https://witness.example/");
        assert_eq!(published.url(), "http://127.0.0.1:3004");
        let policy = witnessing(published).tlog_policy("log+00000000+AA==", None);
        assert!(policy.contains(" https://witness.example\n"), "{policy}");
    }
}
