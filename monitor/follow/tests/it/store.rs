//! `SqlMonitorStore` holds `MonitorStore`'s contract on SQLite and PostgreSQL: compare-and-swap
//! (a stale or missing expectation changes nothing, the state never moves back), findings
//! newest first with growing ids, `after` and `limit`.

use monitor::{Finding, FindingKind, Verified};
use monitor_follow::{MonitorStore, SqlMonitorStore, StoredFinding};
use sigstack_bench_support::TestDb;

fn state(size: u64, byte: u8) -> Verified {
    Verified::restore(size, [byte; 32], format!("note {size}").into_bytes())
}

fn finding(kind: FindingKind, detail: &str) -> StoredFinding {
    StoredFinding {
        id: 0,
        found_at: 1,
        finding: Finding::about_log(kind, "http://log", detail),
    }
}

async fn contract(db: TestDb) {
    let store = SqlMonitorStore::connect(&db.url).await.unwrap();
    let log = "http://log";
    assert_eq!(store.get(log).await.unwrap(), None);
    let (a, b, c) = (state(3, 1), state(7, 2), state(9, 3));
    // First write needs "no row"; a second "no row" write loses.
    assert!(store.advance(log, None, &a).await.unwrap());
    assert!(!store.advance(log, None, &b).await.unwrap());
    assert_eq!(store.get(log).await.unwrap(), Some(a.clone()));
    // Only from the state held: a stale expectation (or another root) changes nothing.
    assert!(store.advance(log, Some(&a), &b).await.unwrap());
    assert!(!store.advance(log, Some(&a), &c).await.unwrap());
    assert!(!store.advance(log, Some(&state(7, 9)), &c).await.unwrap());
    assert_eq!(store.get(log).await.unwrap(), Some(b.clone()));
    // Logs are independent.
    assert_eq!(store.get("http://other").await.unwrap(), None);

    let mut ids = Vec::new();
    for (i, kind) in [
        FindingKind::Rollback,
        FindingKind::Fork,
        FindingKind::IdentityMatch,
    ]
    .into_iter()
    .enumerate()
    {
        ids.push(store.record(&finding(kind, &format!("{i}"))).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let all = store.findings(0, 10).await.unwrap();
    let details: Vec<&str> = all.iter().map(|f| f.finding.detail.as_str()).collect();
    assert_eq!(details, ["2", "1", "0"]);
    assert_eq!(all[0].finding.kind, FindingKind::IdentityMatch);
    assert_eq!(all[0].id, ids[2]);
    assert_eq!(store.findings(ids[0], 10).await.unwrap().len(), 2);
    assert_eq!(store.findings(0, 1).await.unwrap()[0].id, ids[2]);
}

#[tokio::test]
async fn sqlite_holds_the_contract() {
    contract(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn postgres_holds_the_contract() {
    contract(TestDb::postgres().await).await;
}
