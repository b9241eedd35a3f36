//! The batching sequencer: one task per log owns the tree edge. Handlers send submissions over a
//! bounded channel and wait on a oneshot that resolves only after the round holding their entry
//! has committed (see `docs/design/life-of-a-leaf.md`).

use crate::error::AppendError;
use crate::memo::MemoReader;
use crate::metrics::OneLog;
use crate::plan::{EntryEncoder, Outcome, StoredEntry, Submission, MAX_ENTRY_BYTES};
use crate::signer::CheckpointSigner;
use crate::store::{IntegrateRequest, LogHead, LogId, LogStore};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tlog::merkle::Hash;
use tlog::tile::{TileSet, TreeEdge};
use tokio::sync::{mpsc, oneshot, Notify};

/// How the sequencer batches.
#[derive(Debug, Clone)]
pub struct SequencerConfig {
    /// The most submissions in one round.
    pub max_batch: usize,
    /// How long a round waits for more submissions after the first one arrives.
    pub max_delay: Duration,
    /// How many submissions may wait before new ones are refused with pushback.
    pub max_pending: usize,
    /// How long the sequencer may go without finishing a round while submissions wait before
    /// [`Log::check_ready`](crate::Log::check_ready) calls it wedged (a round blocked on a lock
    /// or a database that never answers, while its submitters wait). It must exceed the
    /// longest round the deployment expects; `Duration::MAX` turns the check off.
    pub wedged_after: Duration,
}

/// Default round size: large enough that PostgreSQL commits stay a small share of the work.
pub const DEFAULT_MAX_BATCH: usize = 4096;
/// Default batching window, from the first arrival: tens of milliseconds, so that a round
/// gathers what arrives meanwhile yet a submitter waits little (docs/design/life-of-a-leaf.md).
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_millis(20);
/// Default bound on waiting submissions before pushback.
pub const DEFAULT_MAX_PENDING: usize = 65_536;
/// Default bound on a stall with work waiting before the sequencer reads as wedged: a healthy
/// round takes milliseconds, and one that waits this long has outlasted the database pool's
/// connect timeout and any lock held by a healthy peer.
pub const DEFAULT_WEDGED_AFTER: Duration = Duration::from_secs(30);

impl Default for SequencerConfig {
    fn default() -> Self {
        Self {
            max_batch: DEFAULT_MAX_BATCH,
            max_delay: DEFAULT_MAX_DELAY,
            max_pending: DEFAULT_MAX_PENDING,
            wedged_after: DEFAULT_WEDGED_AFTER,
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

/// Whether the sequencer gets through its work, shared between it (which finishes rounds) and
/// the [`Log`](crate::Log) handles (which queue submissions and probe readiness). Two atomics,
/// so that neither a submission nor a round takes a lock for it.
///
/// The sequencer is wedged when `outstanding > 0` and `progress` is older than the bound.
/// `progress` is stamped when a round finishes (committed or failed: either way the sequencer
/// moved) and when work arrives at an idle log, so that an idle spell before a submission is
/// not mistaken for a stall.
#[derive(Debug)]
pub(crate) struct Progress {
    /// The origin of the stamps; `progress` counts milliseconds from it.
    epoch: Instant,
    /// When the sequencer last made progress, in milliseconds since `epoch`.
    progress: AtomicU64,
    /// Submissions queued and not yet answered by a finished round. Incremented by the sender
    /// before it queues (and taken back when the queue refuses), decremented by the sequencer
    /// after the round holding them finishes.
    outstanding: AtomicU64,
}

impl Progress {
    pub(crate) fn new() -> Self {
        Self {
            epoch: Instant::now(),
            progress: AtomicU64::new(0),
            outstanding: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// A submission is about to be queued.
    pub(crate) fn submitted(&self) {
        // Stamped before the count goes up, so that a probe seeing the new count sees the new
        // stamp too: work arriving at an idle log starts its clock now, not at the last round.
        // A stamp racing with a round's finish is harmless (progress was just made).
        if self.outstanding.load(Ordering::Acquire) == 0 {
            self.progress.store(self.now_ms(), Ordering::Release);
        }
        self.outstanding.fetch_add(1, Ordering::AcqRel);
    }

    /// `n` submissions left the sequencer's hands: refused by the queue, or answered by a
    /// finished round.
    pub(crate) fn done(&self, n: usize) {
        self.outstanding.fetch_sub(n as u64, Ordering::AcqRel);
    }

    /// A round finished, committed or not.
    fn round_finished(&self, n: usize) {
        self.progress.store(self.now_ms(), Ordering::Release);
        self.done(n);
    }

    /// When the sequencer has work and has made no progress for longer than `bound`: how many
    /// submissions wait and for how long it has stalled.
    pub(crate) fn stall(&self, bound: Duration) -> Option<(u64, Duration)> {
        let waiting = self.outstanding.load(Ordering::Acquire);
        if waiting == 0 {
            return None;
        }
        let since = self.progress.load(Ordering::Acquire);
        let stalled = Duration::from_millis(self.now_ms().saturating_sub(since));
        (stalled > bound).then_some((waiting, stalled))
    }
}

/// How a round's batching window ends early: the sequencer waits out the window asleep, and the
/// submitters wake it only once enough submissions are queued to fill the round, not at every
/// submission (a thread wake-up each, on the sequencing runtime, costs more CPU than the
/// submission's share of the round).
///
/// A sender racing with the sequencer's start of a wait may miss the threshold; the round then
/// closes at the end of its window, as any round that does not fill up does. Submissions stay
/// in the queue until the window ends, so they count towards `max_pending` (pushback) for at
/// most one window longer than when each was taken out as it came.
#[derive(Debug)]
pub(crate) struct Window {
    /// Queued submissions that fill the round being gathered; `usize::MAX` when the sequencer
    /// is not waiting out a window.
    wake_at: AtomicUsize,
    full: Notify,
}

impl Window {
    pub(crate) fn new() -> Self {
        Self {
            wake_at: AtomicUsize::new(usize::MAX),
            full: Notify::new(),
        }
    }

    /// A submission was queued; `queued` are waiting now.
    pub(crate) fn queued(&self, queued: usize) {
        if queued >= self.wake_at.load(Ordering::SeqCst) {
            self.full.notify_one();
        }
    }
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
    pub(crate) progress: Arc<Progress>,
    pub(crate) window: Arc<Window>,
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
            self.gather(&mut queue, &mut batch, deadline).await;
            self.metrics.queued(queue.len());
            self.round(batch).await;
            self.metrics.queued(queue.len());
        }
        tracing::debug!(origin = %self.origin, "sequencer stopped");
    }

    /// Fills `batch` up to `max_batch` with what is queued by `deadline`: what is queued already
    /// is taken without awaiting (`recv` under an elapsed deadline would stop at tokio's
    /// cooperative budget of 128 receives and cut the round short); then the sequencer sleeps
    /// until the deadline, or until the queue holds enough to fill the round ([`Window`]).
    async fn gather(
        &self,
        queue: &mut mpsc::Receiver<Pending>,
        batch: &mut Vec<Pending>,
        deadline: tokio::time::Instant,
    ) {
        let max = self.config.max_batch;
        loop {
            while batch.len() < max {
                match queue.try_recv() {
                    Ok(p) => batch.push(p),
                    // Empty: wait below. Disconnected: this round is the last.
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return,
                }
            }
            let room = max.saturating_sub(batch.len());
            if room == 0 || tokio::time::Instant::now() >= deadline {
                return;
            }
            self.window.wake_at.store(room, Ordering::SeqCst);
            // Submissions queued before the threshold was set found none to compare with.
            if queue.len() < room {
                let _ = tokio::time::timeout_at(deadline, self.window.full.notified()).await;
            }
            self.window.wake_at.store(usize::MAX, Ordering::SeqCst);
        }
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
        // Before anyone is answered: a submitter that hears back and probes must see the log
        // as progressing.
        self.progress.round_finished(submissions.len());
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
                        .then(|| reader.inclusion_proof(entry.index, head.size).ok())
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
