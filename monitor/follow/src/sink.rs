//! Where findings go: the database (what `/findings` serves), a JSON-lines stream (stdout or
//! a file), an optional webhook, and the metrics.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use monitor::Finding;
use serde::{Deserialize, Serialize};

use crate::{Metrics, MonitorStore};

/// How long a webhook gets to answer; a slow one delays nothing else for longer.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// A finding as reported: one JSON line of the stream, one item of `/findings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFinding {
    /// Its id in the database (grows with time).
    pub id: i64,
    /// When it was found, in milliseconds since the Unix epoch.
    pub found_at: i64,
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The JSON-lines stream.
enum Lines {
    Stdout,
    File(std::fs::File),
}

/// Reports findings everywhere configured.
pub struct FindingSink {
    store: Arc<dyn MonitorStore>,
    lines: Mutex<Lines>,
    webhook: Option<(reqwest::Client, String)>,
    metrics: Metrics,
}

impl FindingSink {
    /// Reports to `store` and `metrics`, as JSON lines to `file` (appended; `None`: stdout),
    /// and POSTs each finding's JSON to `webhook` if given.
    pub fn new(
        store: Arc<dyn MonitorStore>,
        metrics: Metrics,
        file: Option<PathBuf>,
        webhook: Option<String>,
    ) -> std::io::Result<Self> {
        let lines = match file {
            Some(path) => Lines::File(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
            None => Lines::Stdout,
        };
        let webhook = match webhook {
            Some(url) => Some((
                reqwest::Client::builder()
                    .timeout(WEBHOOK_TIMEOUT)
                    .build()
                    .map_err(std::io::Error::other)?,
                url,
            )),
            None => None,
        };
        Ok(FindingSink {
            store,
            lines: Mutex::new(lines),
            webhook,
            metrics,
        })
    }

    /// Reports one finding. The database write comes first (its id is in the line); when it
    /// fails the finding is still written and posted, with id 0, and the error logged: a
    /// finding is never swallowed.
    pub async fn report(&self, finding: Finding) -> StoredFinding {
        let mut stored = StoredFinding {
            id: 0,
            found_at: now_ms(),
            finding,
        };
        match self.store.record(&stored).await {
            Ok(id) => stored.id = id,
            Err(e) => tracing::error!(
                error = %sigstack_http::error_chain(&e),
                "could not store a finding"
            ),
        }
        self.metrics
            .findings
            .with_label_values(&[stored.finding.kind.as_str(), &stored.finding.log])
            .inc();
        let line = serde_json::to_string(&stored).unwrap_or_default();
        {
            let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
            let written = match &mut *lines {
                Lines::Stdout => writeln!(std::io::stdout().lock(), "{line}"),
                Lines::File(f) => writeln!(f, "{line}").and_then(|()| f.flush()),
            };
            if let Err(e) = written {
                tracing::error!(error = %e, "could not write a finding line");
            }
        }
        if let Some((http, url)) = &self.webhook {
            let sent = http
                .post(url)
                .header("content-type", "application/json")
                .body(line)
                .send()
                .await
                .and_then(|r| r.error_for_status());
            if let Err(e) = sent {
                tracing::warn!(webhook = %url, error = %sigstack_http::error_chain(&e), "webhook failed");
            }
        }
        tracing::warn!(
            kind = stored.finding.kind.as_str(),
            log = %stored.finding.log,
            detail = %stored.finding.detail,
            "finding"
        );
        stored
    }
}
