//! Multi-host database URLs against a real server: the store connects to the first server that
//! answers and is of the kind `target_session_attrs` asks for, and refuses to start, naming the
//! servers, when none is. The failover itself (a standby promoted under load) is
//! `scripts/interop/pg_failover.sh`.

use crate::common::{test_signer, TestDb};
use std::sync::Arc;
use tlog_store::{Log, LogOptions, LogStore, PlainEntries, SqlStore, StoreError, Submission};

/// `db`'s URL with a server that refuses connections (port 1) before its own, and the given
/// `target_session_attrs`.
fn behind_a_dead_server(db: &TestDb, attrs: &str) -> String {
    let url = url::Url::parse(&db.url).unwrap();
    let userinfo = match url.password() {
        Some(password) => format!("{}:{password}@", url.username()),
        None => format!("{}@", url.username()),
    };
    let mut query = format!("target_session_attrs={attrs}");
    if let Some(rest) = url.query() {
        query = format!("{rest}&{query}");
    }
    format!(
        "postgres://{userinfo}127.0.0.1:1,{}:{}{}?{query}",
        url.host_str().unwrap(),
        url.port().unwrap_or(5432),
        url.path()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_server_that_answers_and_fits_is_used() {
    let db = TestDb::postgres().await;
    for attrs in ["read-write", "primary", "any", "prefer-standby"] {
        let store = Arc::new(
            SqlStore::connect(&behind_a_dead_server(&db, attrs))
                .await
                .unwrap_or_else(|e| panic!("{attrs}: {e}")),
        );
        let (signer, _) = test_signer("failover.example/log");
        let log = Log::open_or_create(
            store.clone() as Arc<dyn LogStore>,
            "failover.example/log",
            Arc::new(PlainEntries),
            signer,
            LogOptions::default(),
        )
        .await
        .unwrap();
        let appended = log
            .append_entry(Submission::by_leaf_hash(attrs.as_bytes().to_vec()))
            .await
            .unwrap();
        assert_eq!(
            log.entry(appended.entry.index).await.unwrap().unwrap().data,
            attrs.as_bytes()
        );
        drop(log);
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_server_of_the_kind_asked_for_is_an_error_naming_the_servers() {
    let db = TestDb::postgres().await;
    for attrs in ["standby", "read-only"] {
        let err = SqlStore::connect(&behind_a_dead_server(&db, attrs))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NoServer { .. }), "{attrs}: {err}");
        let message = err.to_string();
        assert!(message.contains("127.0.0.1:1,"), "{message}");
        assert!(message.contains(attrs), "{message}");
    }
}
