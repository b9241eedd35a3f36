//! `rekor-loadgen --grown` end to end, small: it grows its Rekor's log to each size, measures
//! pairs of windows on a fresh empty log and on the grown log, reports each pair and the
//! medians, and removes every database it made.
#![cfg(feature = "loadgen")]

use std::process::{Command, Output};

fn grown(backend: &str, prefix: &str, sizes: &str, pairs: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rekor-loadgen"))
        .args(["--grown", sizes, "--pairs", pairs, "--seconds", "1"])
        .args(["--entries", "200", "--concurrency", "8"])
        .args(["--fill-concurrency", "64"])
        .env("BENCH_BACKEND", backend)
        .env("SIGSTACK_BENCH_DATABASE_PREFIX", prefix)
        .output()
        .expect("run rekor-loadgen")
}

/// Every size's pairs are printed, then one summary line per size.
fn assert_reported(out: &Output, sizes: &[u64], pairs: usize) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for size in sizes {
        for pair in 1..=pairs {
            let line = stdout
                .lines()
                .find(|l| l.starts_with(&format!("at {size}, pair {pair}: empty log ")))
                .unwrap_or_else(|| panic!("no pair {pair} at {size}: {stdout}"));
            assert!(line.ends_with("% of the empty log"), "{line}");
        }
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("  {size}: empty log "))),
            "{stdout}"
        );
        assert!(
            stderr.contains(&format!(" to {size} entries in ")),
            "{stderr}"
        );
    }
}

#[test]
fn grows_on_sqlite_and_measures_each_size_in_pairs() {
    let out = grown("sqlite", "", "1500,3000", "1");
    assert_reported(&out, &[1500, 3000], 1);
    // SQLite's work is the process's: no database CPU is claimed.
    assert!(String::from_utf8_lossy(&out.stdout).contains(" µs of CPU per entry)"));
}

#[tokio::test]
async fn grows_on_postgres_and_drops_its_databases() {
    let Ok(admin) = std::env::var("SIGSTACK_TEST_DATABASE_URL") else {
        eprintln!("SIGSTACK_TEST_DATABASE_URL is not set: skipped (scripts/with-postgres.sh)");
        return;
    };
    let prefix = format!("rekor_grown_test_{:08x}_", rand::random::<u32>());
    let out = grown("postgres", &prefix, "2000", "2");
    assert_reported(&out, &[2000], 2);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(" µs of CPU per entry, process + database)")
    );

    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
    let left: i64 = sqlx::query("SELECT count(*) FROM pg_database WHERE starts_with(datname, $1)")
        .bind(&prefix)
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "databases named {prefix}… were left");
}
