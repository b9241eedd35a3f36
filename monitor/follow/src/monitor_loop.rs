//! The rounds: one log at a time, one checkpoint at a time.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use monitor::follow::{check_with_proof, compare_witnessed, observe, Observation, Rejected};
use monitor::merge_delay::{tree_head_time, withheld, Cosigned, LateEntries};
use monitor::watch::{LogApi, Match};
use monitor::{Finding, FindingKind, Growth, Verified, WatchList};
use tlog::checkpoint::Checkpoint;
use tlog::merkle::Hash;
use tlog::note::Note;
use tlog::tile::{TreeEdge, TILE_WIDTH};
use tlog_store::StoreError;
use witness::{origin_hash, CosignatureVerifier, Log};

use crate::{FetchError, FindingSink, LogSource, Metrics, MonitorStore};

/// A followed log: where to read it, which keys sign it, where to start.
pub struct FollowedLog {
    /// Its read API.
    pub source: LogSource,
    /// Its origin and trusted keys.
    pub log: Log,
    /// First entry to check when there is no state yet (`None`: from the latest checkpoint on).
    pub start_index: Option<u64>,
    /// How late an entry may be integrated (after its SCT, or after a witness cosigned it).
    pub max_merge_delay: Duration,
}

/// A witness whose cosigned checkpoints are compared with ours.
pub struct WitnessSource {
    /// Its base URL.
    pub url: String,
    /// Its cosignature key.
    pub verifier: CosignatureVerifier,
}

/// Timing of the rounds.
#[derive(Debug, Clone, Copy)]
pub struct MonitorOptions {
    /// Time between rounds of a healthy log.
    pub interval: Duration,
    /// How long a log may fail (unreachable, garbage) before that is a finding.
    pub unreachable_after: Duration,
}

/// What one round of one log did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoundOutcome {
    /// No new checkpoint.
    Unchanged,
    /// First contact: the latest checkpoint became the state.
    Started {
        /// Its size.
        size: u64,
    },
    /// The log grew and every new entry was checked.
    Grew {
        /// The verified size before.
        from: u64,
        /// The verified size now.
        to: u64,
    },
    /// Evidence of misbehaviour was reported; the state did not move.
    Finding(FindingKind),
}

/// Why a round could not finish: retried with back-off, never state.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Transient {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("the log answered something that is not a checkpoint: {0}")]
    Garbage(String),
    #[error("the log's tiles cannot give the tree's edge: {0}")]
    Tiles(String),
    #[error("the monitor's database")]
    Store(#[from] StoreError),
    #[error("another monitor moved this log's state during the round")]
    Raced,
}

/// What a growth check saw besides the tree, reported once the tree is verified: where it
/// started, the watch-list matches (entry index, items matched) and the late entries.
struct Seen {
    from: u64,
    matches: Vec<(u64, Vec<Match>)>,
    late: Option<Finding>,
}

/// Per log: when its failures began (for the unreachable finding), and whether that was
/// reported.
#[derive(Debug, Default)]
struct Health {
    failing_since: Option<Instant>,
    reported: bool,
}

/// The monitor: the logs, the witnesses, the watch list, where state and findings go.
pub struct Monitor {
    logs: Vec<FollowedLog>,
    witnesses: Vec<WitnessSource>,
    watch: WatchList,
    store: Arc<dyn MonitorStore>,
    sink: FindingSink,
    metrics: Metrics,
    options: MonitorOptions,
    http: reqwest::Client,
    /// Findings about the log (not matches) already reported, so that a log that keeps serving
    /// the same bad checkpoint is reported once, not every round: (log, kind, checkpoint).
    reported: Mutex<HashSet<(String, FindingKind, String)>>,
    health: Mutex<HashMap<String, Health>>,
    /// Findings reported since the start (what `--once` exits on).
    findings_reported: AtomicU64,
}

impl Monitor {
    /// A monitor of `logs`.
    #[allow(clippy::too_many_arguments)] // each is one part of the monitor
    pub fn new(
        logs: Vec<FollowedLog>,
        witnesses: Vec<WitnessSource>,
        watch: WatchList,
        store: Arc<dyn MonitorStore>,
        sink: FindingSink,
        metrics: Metrics,
        options: MonitorOptions,
    ) -> Result<Self, reqwest::Error> {
        Ok(Monitor {
            logs,
            witnesses,
            watch,
            store,
            sink,
            metrics,
            options,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            reported: Mutex::new(HashSet::new()),
            health: Mutex::new(HashMap::new()),
            findings_reported: AtomicU64::new(0),
        })
    }

    /// The logs followed.
    pub fn logs(&self) -> &[FollowedLog] {
        &self.logs
    }

    /// The store (for `/findings`).
    pub fn store(&self) -> &Arc<dyn MonitorStore> {
        &self.store
    }

    async fn report(&self, finding: Finding) {
        // Matches are per entry, and an outage is reported once per outage by `round`'s
        // accounting: neither repeats a checkpoint.
        if !matches!(
            finding.kind,
            FindingKind::IdentityMatch | FindingKind::Unreachable
        ) {
            let key = (
                finding.log.clone(),
                finding.kind,
                finding.checkpoint.clone().unwrap_or_default(),
            );
            if !self
                .reported
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key)
            {
                return;
            }
        }
        self.findings_reported.fetch_add(1, Ordering::Relaxed);
        self.sink.report(finding).await;
    }

    /// Findings reported since the start.
    pub fn findings_reported(&self) -> u64 {
        self.findings_reported.load(Ordering::Relaxed)
    }

    /// One round of log `i`, with its failure accounting: a failed round is a finding only
    /// once the log has failed for longer than `unreachable_after`. Returns the outcome, or
    /// the failure (as text) of a round to retry.
    pub async fn round(&self, i: usize) -> Result<RoundOutcome, String> {
        let log = &self.logs[i];
        let url = log.source.url().to_string();
        let result = self.round_inner(log).await;
        let outcome_label = match &result {
            Ok(RoundOutcome::Unchanged) => "unchanged",
            Ok(RoundOutcome::Started { .. }) | Ok(RoundOutcome::Grew { .. }) => "grew",
            Ok(RoundOutcome::Finding(_)) => "finding",
            Err(_) => "error",
        };
        self.metrics
            .rounds
            .with_label_values(&[&url, outcome_label])
            .inc();
        match result {
            Ok(outcome) => {
                self.health
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&url);
                Ok(outcome)
            }
            Err(e) => {
                let text = sigstack_http::error_chain(&e);
                let due = {
                    let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
                    let h = health.entry(url.clone()).or_default();
                    let since = *h.failing_since.get_or_insert_with(Instant::now);
                    let due = !h.reported && since.elapsed() >= self.options.unreachable_after;
                    h.reported |= due;
                    due
                };
                if due {
                    self.report(Finding::about_log(
                        FindingKind::Unreachable,
                        &url,
                        format!(
                            "no usable answer for {:?}: {text}",
                            self.options.unreachable_after
                        ),
                    ))
                    .await;
                }
                tracing::info!(log = %url, error = %text, "round failed; retrying");
                Err(text)
            }
        }
    }

    /// Whether log `url` has been reported unreachable in its current outage.
    pub fn reported_unreachable(&self, url: &str) -> bool {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(url)
            .is_some_and(|h| h.reported)
    }

    async fn round_inner(&self, log: &FollowedLog) -> Result<RoundOutcome, Transient> {
        let url = log.source.url();
        let held = self.store.get(url).await?;
        let served_at = now_millis();
        let note = log.source.checkpoint().await?;
        let observation = match observe(&log.log, url, held.as_ref(), &note) {
            Ok(o) => o,
            Err(Rejected::Garbage(reason)) => return Err(Transient::Garbage(reason)),
            Err(Rejected::Finding(f)) => {
                let kind = f.kind;
                self.report(*f).await;
                return Ok(RoundOutcome::Finding(kind));
            }
        };
        let outcome = match observation {
            Observation::Unchanged => {
                let held = held.expect("Unchanged is only observed against a state");
                self.check_witnesses(log, &held, served_at).await?;
                RoundOutcome::Unchanged
            }
            Observation::Refreshed(newer) => {
                self.advance(url, held.as_ref(), &newer).await?;
                self.check_witnesses(log, &newer, served_at).await?;
                RoundOutcome::Unchanged
            }
            Observation::First(first) => {
                let start = log.start_index.filter(|s| *s < first.size());
                match start {
                    None => {
                        self.advance(url, None, &first).await?;
                        self.check_witnesses(log, &first, served_at).await?;
                        RoundOutcome::Started { size: first.size() }
                    }
                    Some(start) => {
                        let (checkpoint, _) =
                            log.log.open(&note).expect("observe opened this checkpoint");
                        if log.source.api() == LogApi::RekorV1 {
                            // Without tiles, only the empty tree is a verified start (a start
                            // index above 0 is refused with the configuration).
                            return self
                                .grow_with_proof(log, None, checkpoint, note, served_at)
                                .await;
                        }
                        let edge = self.edge(&log.source, start, checkpoint.size()).await?;
                        let growth = Growth::start_unverified(url, edge, checkpoint, note);
                        self.grow(log, None, growth, served_at).await?
                    }
                }
            }
            Observation::Grew { checkpoint, note } if log.source.api() == LogApi::RekorV1 => {
                let held = held.expect("Grew is only observed against a state");
                self.grow_with_proof(log, Some(&held), checkpoint, note, served_at)
                    .await?
            }
            Observation::Grew { checkpoint, note } => {
                let held = held.expect("Grew is only observed against a state");
                let edge = self
                    .edge(&log.source, held.size(), checkpoint.size())
                    .await?;
                match Growth::start(url, &held, edge, checkpoint, note) {
                    Ok(growth) => self.grow(log, Some(&held), growth, served_at).await?,
                    Err(f) => {
                        let kind = f.kind;
                        self.report(*f).await;
                        RoundOutcome::Finding(kind)
                    }
                }
            }
        };
        Ok(outcome)
    }

    async fn advance(
        &self,
        url: &str,
        expected: Option<&Verified>,
        new: &Verified,
    ) -> Result<(), Transient> {
        if !self.store.advance(url, expected, new).await? {
            return Err(Transient::Raced);
        }
        self.metrics
            .verified_size
            .with_label_values(&[url])
            .set(i64::try_from(new.size()).unwrap_or(i64::MAX));
        Ok(())
    }

    /// The right edge of the tree of `size` from the log's tiles, read at their widths in the
    /// tree of `latest` (a prefix of a wider tile is the narrower one).
    async fn edge(
        &self,
        source: &LogSource,
        size: u64,
        latest: u64,
    ) -> Result<TreeEdge, Transient> {
        let wanted: Vec<_> = TreeEdge::required_tiles(size)
            .into_iter()
            .map(|(id, width)| (id, id.width_at(latest).max(width)))
            .collect();
        let tiles = source.tiles(&wanted).await?;
        TreeEdge::from_tiles(size, &tiles).map_err(|e| Transient::Tiles(e.to_string()))
    }

    /// Fetches, hashes and matches every entry the growth needs, then lets it decide. A CT
    /// log's entries are also checked against the maximum merge delay of the tree head they
    /// extend.
    async fn grow(
        &self,
        log: &FollowedLog,
        held: Option<&Verified>,
        mut growth: Growth,
        served_at: u64,
    ) -> Result<RoundOutcome, Transient> {
        let url = log.source.url();
        let (from, to) = (growth.next_index(), growth.target_size());
        let mut late = held
            .and_then(|h| tree_head_time(&log.log, h.note()))
            .map(|time| LateEntries::new(time, log.max_merge_delay));
        let mut matches = Vec::new();
        for bundle in from / TILE_WIDTH..to.div_ceil(TILE_WIDTH) {
            let entries = log.source.bundle(bundle, to).await?;
            let mut checked = 0u64;
            for (k, entry) in entries.into_iter().enumerate() {
                let index = bundle * TILE_WIDTH + k as u64;
                if index < from {
                    continue;
                }
                growth.push(entry.leaf_hash);
                checked += 1;
                if let (Some(late), Some(sct_time)) = (late.as_mut(), entry.sct_time) {
                    late.push(index, sct_time);
                }
                self.collect_matches(index, &entry, &mut matches);
            }
            self.count_checked(url, checked);
        }
        let late = late.zip(held).and_then(|(l, h)| l.finish(url, h));
        let from = held.map_or(from, Verified::size);
        self.conclude(
            log,
            held,
            growth.finish(),
            Seen {
                from,
                matches,
                late,
            },
            served_at,
        )
        .await
    }

    /// A Rekor v1 log's growth: its consistency proof and every new entry, by index.
    async fn grow_with_proof(
        &self,
        log: &FollowedLog,
        held: Option<&Verified>,
        checkpoint: Checkpoint,
        note: Vec<u8>,
        served_at: u64,
    ) -> Result<RoundOutcome, Transient> {
        let url = log.source.url();
        let base = held.cloned().unwrap_or_else(Verified::empty);
        let (from, to) = (base.size(), checkpoint.size());
        let proof = if from == 0 {
            Vec::new()
        } else {
            log.source.consistency_proof(from, to).await?
        };
        let entries = log.source.v1_entries(from, to).await?;
        self.count_checked(url, entries.len() as u64);
        let mut matches = Vec::new();
        for (k, entry) in entries.iter().enumerate() {
            self.collect_matches(from + k as u64, entry, &mut matches);
        }
        let leaves: Vec<Hash> = entries.iter().map(|e| e.leaf_hash).collect();
        let verified = check_with_proof(url, &base, checkpoint, note, &proof, &leaves);
        self.conclude(
            log,
            held,
            verified,
            Seen {
                from,
                matches,
                late: None,
            },
            served_at,
        )
        .await
    }

    fn collect_matches(
        &self,
        index: u64,
        entry: &crate::ServedEntry,
        matches: &mut Vec<(u64, Vec<Match>)>,
    ) {
        if let Some(facts) = &entry.facts {
            let matched = self.watch.matches(facts);
            if !matched.is_empty() {
                matches.push((index, matched));
            }
        }
    }

    fn count_checked(&self, url: &str, checked: u64) {
        self.metrics
            .entries
            .with_label_values(&[url])
            .inc_by(checked);
    }

    /// After a growth check (from size `from`, with the watch-list matches and late entries
    /// seen): a finding, or the new state stored, then the matches and the late entries (reported only from entries the signed root vouches for) and the
    /// witnesses.
    async fn conclude(
        &self,
        log: &FollowedLog,
        held: Option<&Verified>,
        checked: Result<Verified, Box<Finding>>,
        seen: Seen,
        served_at: u64,
    ) -> Result<RoundOutcome, Transient> {
        let url = log.source.url();
        let Seen {
            from,
            matches,
            late,
        } = seen;
        let verified = match checked {
            Ok(v) => v,
            Err(f) => {
                let kind = f.kind;
                self.report(*f).await;
                return Ok(RoundOutcome::Finding(kind));
            }
        };
        self.advance(url, held, &verified).await?;
        for (index, matched) in matches {
            let mut finding = Finding::about_log(
                FindingKind::IdentityMatch,
                url,
                format!("entry {index} matches the watch list"),
            );
            finding.index = Some(index);
            finding.matched = matched;
            self.report(finding).await;
        }
        if let Some(late) = late {
            self.report(late).await;
        }
        self.check_witnesses(log, &verified, served_at).await?;
        Ok(RoundOutcome::Grew {
            from,
            to: verified.size(),
        })
    }

    /// Compares each witness's latest cosigned checkpoint of `log` with `ours`. A witness
    /// that holds none, or whose answer is not validly cosigned by its key and signed by the
    /// log, says nothing about the log (logged, not a finding). A witness that cosigned a
    /// larger tree longer than the maximum merge delay before the log served `ours` (at
    /// `served_at`) shows the log withholding entries from its readers.
    async fn check_witnesses(
        &self,
        log: &FollowedLog,
        ours: &Verified,
        served_at: u64,
    ) -> Result<(), Transient> {
        let url = log.source.url();
        for w in &self.witnesses {
            let at = format!(
                "{}/{}/checkpoint",
                w.url.trim_end_matches('/'),
                origin_hash(log.log.origin())
            );
            let body = match LogSource::get(&self.http, &at, 64 * 1024).await {
                Ok(Some(body)) => body,
                Ok(None) => continue,
                Err(e) => {
                    tracing::info!(witness = %w.url, error = %sigstack_http::error_chain(&e), "witness not read");
                    continue;
                }
            };
            let cosigned_at = Note::parse(&body).ok().and_then(|note| {
                note.signatures()
                    .iter()
                    .find_map(|s| w.verifier.verify(note.text(), s).ok())
            });
            let opened = log.log.open(&body);
            let (cosigned_at, (theirs, _)) = match (cosigned_at, opened) {
                (Some(at), Ok(opened)) => (at, opened),
                _ => {
                    tracing::info!(witness = %w.url, log = %url, "witness answer not cosigned by it or not signed by the log; ignored");
                    continue;
                }
            };
            let proof = proof_between(&log.source, ours.size(), theirs.size()).await?;
            let by = format!("witness {}", w.url);
            if let Err(f) = compare_witnessed(url, &by, ours, &theirs, &body, &proof) {
                self.report(*f).await;
            }
            let witnessed = Cosigned {
                by: &by,
                size: theirs.size(),
                at: cosigned_at,
                note: &body,
            };
            if let Some(f) = withheld(url, ours, served_at, witnessed, log.max_merge_delay) {
                self.report(f).await;
            }
        }
        self.check_views(log, ours).await
    }

    /// Compares `ours` with what this monitor verified of the same log (same origin) at its
    /// other configured URLs: a log that answers clients differently by address, region or
    /// front end shows two trees.
    async fn check_views(&self, log: &FollowedLog, ours: &Verified) -> Result<(), Transient> {
        let url = log.source.url();
        for other in &self.logs {
            if other.log.origin() != log.log.origin() || other.source.url() == url {
                continue;
            }
            let Some(theirs) = self.store.get(other.source.url()).await? else {
                continue;
            };
            let Ok((their_checkpoint, _)) = log.log.open(theirs.note()) else {
                continue;
            };
            // From the view that shows the larger tree.
            let source = if ours.size() >= theirs.size() {
                &log.source
            } else {
                &other.source
            };
            let proof = proof_between(source, ours.size(), theirs.size()).await?;
            let by = format!("the same log at {}", other.source.url());
            if let Err(f) =
                compare_witnessed(url, &by, ours, &their_checkpoint, theirs.note(), &proof)
            {
                self.report(*f).await;
            }
        }
        Ok(())
    }

    /// Runs rounds of every log until `stop` resolves: each log every `interval` while it is
    /// healthy, with doubling back-off (up to 16 intervals) while it fails.
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..self.logs.len() {
            let monitor = self.clone();
            tasks.spawn(async move {
                let mut delay = monitor.options.interval;
                loop {
                    match monitor.round(i).await {
                        Ok(_) => delay = monitor.options.interval,
                        Err(_) => {
                            delay = (delay * 2).min(monitor.options.interval * 16);
                        }
                    }
                    tokio::time::sleep(delay).await;
                }
            });
        }
        stop.await;
        tasks.abort_all();
    }

    /// `--once`: one round of every log, each failed round retried with back-off (from
    /// `interval`/10) until it succeeds or the log has failed for `unreachable_after` (then a
    /// finding). Returns the number of findings reported.
    pub async fn once(&self) -> u64 {
        let before = self.findings_reported();
        for i in 0..self.logs.len() {
            let mut delay = (self.options.interval / 10).max(Duration::from_millis(50));
            loop {
                match self.round(i).await {
                    Ok(_) => break,
                    Err(_) if self.reported_unreachable(self.logs[i].source.url()) => break,
                    Err(_) => {
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(self.options.interval.max(delay));
                    }
                }
            }
        }
        self.findings_reported() - before
    }
}

/// The consistency proof between two sizes, in either order, from `source` (none needed when
/// one is empty or both are equal).
async fn proof_between(source: &LogSource, a: u64, b: u64) -> Result<Vec<Hash>, Transient> {
    let (small, large) = (a.min(b), a.max(b));
    if small == 0 || small == large {
        return Ok(Vec::new());
    }
    Ok(source.consistency_proof(small, large).await?)
}

/// Milliseconds since the Unix epoch (tree head and cosignature times are in that scale).
fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
