//! `tlog-loadgen grow` end to end, small: the growth benchmark of docs/performance.md grows a
//! log, measures it, and alternates append windows with fresh empty logs (`--pairs`) that it
//! creates beside the grown one and removes afterwards.
#![cfg(feature = "loadgen")]

use crate::common;

use common::TestDb;
use std::process::Command;

both_backends!(
    grows_measures_and_pairs_with_fresh_empty_logs,
    |db: TestDb| async move {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_tlog-loadgen"))
            .args(["--url", &db.url, "--key"])
            .arg(dir.path().join("grow.pem"))
            .args([
                "grow",
                "--at",
                "2000",
                "--concurrency",
                "64",
                "--samples",
                "20",
            ])
            .args(["--window-seconds", "1", "--pairs", "2"])
            .output()
            .expect("run tlog-loadgen");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}\n{stderr}");

        // One JSON line for the one size, with both pairs, then the table.
        let milestone: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap())
            .unwrap_or_else(|e| panic!("{e}: {stdout}"));
        assert!(milestone["tree_size"].as_u64().unwrap() >= 2000);
        let pairs = milestone["pairs"].as_array().unwrap();
        assert_eq!(pairs.len(), 2, "{milestone}");
        for pair in pairs {
            assert!(pair["empty_per_sec"].as_f64().unwrap() > 0.0, "{pair}");
            assert!(pair["grown_per_sec"].as_f64().unwrap() > 0.0, "{pair}");
        }
        assert!(
            stdout.contains("| this log / empty log (median of the pairs' ratios) |"),
            "{stdout}"
        );
        assert_eq!(stderr.matches("grow: pair ").count(), 2, "{stderr}");

        // The fresh empty logs are gone: no database or file beside the grown one.
        match db.pg_name() {
            Some(name) => {
                use sqlx::{Connection, Row};
                let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
                let left: i64 = sqlx::query(
                    "SELECT count(*) FROM pg_database WHERE datname LIKE $1 || '\\_empty%'",
                )
                .bind(name)
                .fetch_one(&mut conn)
                .await
                .unwrap()
                .get(0);
                assert_eq!(left, 0);
            }
            None => {
                let file = db.url.trim_start_matches("sqlite://");
                let dir = std::path::Path::new(file).parent().unwrap();
                let left: Vec<_> = std::fs::read_dir(dir)
                    .unwrap()
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.contains(".empty"))
                    .collect();
                assert!(left.is_empty(), "{left:?}");
            }
        }
    }
);
