//! The batching sequencer: one task per log owns the tree edge. Handlers send submissions over a
//! bounded channel and wait on a oneshot that resolves only after the round holding their entry
//! has committed (see `docs/design/life-of-a-leaf.md`).

use crate::error::AppendError;
use crate::memo::MemoReader;
use crate::metrics::OneLog;
use crate::plan::{EntryEncoder, Outcome, StoredEntry, Submission, MAX_ENTRY_BYTES};
use crate::signer::CheckpointSigner;
use crate::store::{IntegrateRequest, LogHead, LogId, LogStore};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tlog::merkle::{self, Hash};
use tlog::tile::{TileSet, TreeEdge};
use tokio::sync::{mpsc, oneshot};

/// How the sequencer batches.
#[derive(Debug, Clone)]
pub struct SequencerConfig {
    /// The most submissions in one round.
    pub max_batch: usize,
    /// How long a round waits for more submissions after the first one arrives.
    pub max_delay: Duration,
    /// How many submissions may wait before new ones are refused with pushback.
    pub max_pending: usize,
}

/// Default round size: large enough that PostgreSQL commits stay a small share of the work.
pub const DEFAULT_MAX_BATCH: usize = 4096;
/// Default batching window, from the first arrival: tens of milliseconds, so that a round
/// gathers what arrives meanwhile yet a submitter waits little (docs/design/life-of-a-leaf.md).
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_millis(20);
/// Default bound on waiting submissions before pushback.
pub const DEFAULT_MAX_PENDING: usize = 65_536;

impl Default for SequencerConfig {
    fn default() -> Self {
        Self {
            max_batch: DEFAULT_MAX_BATCH,
            max_delay: DEFAULT_MAX_DELAY,
            max_pending: DEFAULT_MAX_PENDING,
        }
    }
}

/// The answer to one submission.
pub(crate) struct Sequenced {
    pub(crate) entry: StoredEntry,
    pub(crate) duplicate: bool,
    pub(crate) head: Arc<LogHead>,
    /// The tiles the round wrote plus the edge: enough for the proofs of this round's entries.
    pub(crate) overlay: Arc<TileSet>,
    /// The entry's inclusion proof in the tree of `head`, when it was asked for and the overlay
    /// held every node it needs (a duplicate's may not: its caller proves from the store).
    pub(crate) inclusion_proof: Option<Vec<Hash>>,
}

pub(crate) struct Pending {
    pub(crate) submission: Submission,
    /// Whether the caller wants the inclusion proof (computed for the whole round at once).
    pub(crate) want_proof: bool,
    pub(crate) reply: oneshot::Sender<Result<Sequenced, AppendError>>,
    /// When it was queued: the batching window runs from the first submission's arrival.
    pub(crate) arrived: tokio::time::Instant,
}

/// The head shared between the sequencer and readers, with when it was last confirmed.
pub(crate) type SharedHead = Arc<Mutex<(Arc<LogHead>, Instant)>>;

pub(crate) struct Sequencer {
    pub(crate) store: Arc<dyn LogStore>,
    pub(crate) log: LogId,
    pub(crate) origin: String,
    pub(crate) edge: TreeEdge,
    pub(crate) encoder: Arc<dyn EntryEncoder>,
    pub(crate) signer: Arc<dyn CheckpointSigner>,
    pub(crate) config: SequencerConfig,
    pub(crate) head: SharedHead,
    pub(crate) metrics: OneLog,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Sequencer {
    /// Runs rounds until every sender is gone, then returns.
    pub(crate) async fn run(mut self, mut queue: mpsc::Receiver<Pending>) {
        while let Some(first) = queue.recv().await {
            // The window opens when the first submission arrived, not when this loop got to it:
            // under load, what queued during the last round has waited long enough already and
            // goes straight into the next one.
            let deadline = first.arrived + self.config.max_delay;
            let mut batch = vec![first];
            while batch.len() < self.config.max_batch {
                // What is already queued is taken without awaiting: `recv` under an elapsed
                // deadline would stop at tokio's cooperative budget (128 receives) and cut the
                // round short.
                let next = match queue.try_recv() {
                    Ok(p) => Some(p),
                    Err(mpsc::error::TryRecvError::Disconnected) => None,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        tokio::time::timeout_at(deadline, queue.recv())
                            .await
                            .ok()
                            .flatten()
                    }
                };
                let Some(p) = next else { break };
                batch.push(p);
            }
            self.metrics.queued(queue.len());
            self.round(batch).await;
            self.metrics.queued(queue.len());
        }
        tracing::debug!(origin = %self.origin, "sequencer stopped");
    }

    async fn round(&mut self, batch: Vec<Pending>) {
        let started = Instant::now();
        let (submissions, replies): (Vec<Submission>, Vec<_>) = batch
            .into_iter()
            .map(|p| (p.submission, (p.want_proof, p.reply)))
            .unzip();
        let result = self
            .store
            .integrate(IntegrateRequest {
                log: self.log,
                origin: &self.origin,
                edge: &self.edge,
                batch: &submissions,
                encoder: self.encoder.as_ref(),
                signer: self.signer.as_ref(),
                now_ms: now_ms(),
            })
            .await;
        let integrated = match result {
            Ok(i) => i,
            Err(e) => {
                // Nothing of this round is acknowledged. The edge is left as it was: the next
                // round checks it against the committed head and rebuilds it if needed.
                tracing::error!(origin = %self.origin, error = %e, entries = submissions.len(), "integration round failed");
                self.metrics
                    .round(submissions.len(), started.elapsed(), false);
                let e = Arc::new(e);
                for (_, reply) in replies {
                    let _ = reply.send(Err(AppendError::RoundFailed(e.clone())));
                }
                return;
            }
        };
        self.metrics
            .round(submissions.len(), started.elapsed(), true);
        self.metrics.tree_size(integrated.head.size);
        self.edge = integrated.edge;
        let head = Arc::new(integrated.head);
        {
            let mut shared = self.head.lock().expect("head lock");
            if head.size >= shared.0.size {
                *shared = (head.clone(), Instant::now());
            }
        }
        let mut overlay = self.edge.tiles();
        for (id, hashes) in integrated.tiles {
            overlay.insert(id, hashes);
        }
        let overlay = Arc::new(overlay);
        let new = integrated
            .outcomes
            .iter()
            .filter(|o| {
                matches!(
                    o,
                    Outcome::Sequenced {
                        duplicate: false,
                        ..
                    }
                )
            })
            .count();
        tracing::debug!(
            origin = %self.origin,
            tree_size = head.size,
            entries = new,
            submissions = submissions.len(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "integrated round"
        );
        // The proofs of the whole round, sharing every interior node they have in common.
        let reader = MemoReader::new(&overlay);
        for (outcome, (want_proof, reply)) in integrated.outcomes.into_iter().zip(replies) {
            let answer = match outcome {
                Outcome::Sequenced { entry, duplicate } => Ok(Sequenced {
                    inclusion_proof: want_proof
                        .then(|| merkle::inclusion_proof(entry.index, head.size, &reader).ok())
                        .flatten(),
                    entry,
                    duplicate,
                    head: head.clone(),
                    overlay: overlay.clone(),
                }),
                Outcome::TooLarge(size) => Err(AppendError::EntryTooLarge {
                    size,
                    max: MAX_ENTRY_BYTES,
                }),
                Outcome::Invalid(reason) => Err(AppendError::Invalid(reason)),
            };
            // A caller that gave up is no reason to stop: its entry is committed regardless.
            let _ = reply.send(answer);
        }
    }
}
