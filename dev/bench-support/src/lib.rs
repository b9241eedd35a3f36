//! What the load-generator benchmarks share: reading their knobs from the environment, a fresh
//! database to run against, latency percentiles, and the load generators' HTTP client
//! ([`load`]).

use std::time::Duration;

pub mod load;

/// The environment variable `name` parsed as `T`, or `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `url` naming database `name` instead: the rest, `sslmode=` and `sslrootcert=` included, kept.
pub fn with_database(url: &str, name: &str) -> String {
    let mut url = url::Url::parse(url).expect("a PostgreSQL URL");
    url.set_path(&format!("/{name}"));
    url.into()
}

/// A database for one benchmark run, removed with this value: SQLite files live in a
/// temporary directory, PostgreSQL databases are dropped, unless `SIGSTACK_BENCH_KEEP_DATABASE`
/// is set (a benchmark's data may be worth a look; the name is printed then).
pub struct BenchDatabase {
    /// The database URL.
    pub url: String,
    /// The PostgreSQL database's name (`None` on SQLite).
    pub name: Option<String>,
    /// The server's URL it was made through (PostgreSQL), to drop it through.
    admin: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        let (Some(name), Some(admin)) = (self.name.take(), self.admin.take()) else {
            return;
        };
        if std::env::var_os("SIGSTACK_BENCH_KEEP_DATABASE").is_some() {
            eprintln!("kept database {name} (SIGSTACK_BENCH_KEEP_DATABASE is set)");
        } else {
            drop_database(admin, name);
        }
    }
}

impl BenchDatabase {
    /// A fresh database: on PostgreSQL (a new database named `<prefix>_<random>` in
    /// `SIGSTACK_TEST_DATABASE_URL`'s server, after `SIGSTACK_BENCH_DATABASE_PREFIX` if set)
    /// when that is set, else SQLite; `BENCH_BACKEND` (`postgres` | `sqlite`) chooses
    /// explicitly.
    pub async fn fresh(prefix: &str) -> Self {
        let admin = std::env::var("SIGSTACK_TEST_DATABASE_URL").ok();
        let backend = std::env::var("BENCH_BACKEND").unwrap_or_else(|_| {
            if admin.is_some() {
                "postgres"
            } else {
                "sqlite"
            }
            .into()
        });
        if backend != "postgres" {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("bench.sqlite").display());
            return Self {
                url,
                name: None,
                admin: None,
                _dir: Some(dir),
            };
        }
        use sqlx::Connection;
        let admin = admin.expect(
            "BENCH_BACKEND=postgres needs SIGSTACK_TEST_DATABASE_URL (run under scripts/with-postgres.sh)",
        );
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
        let name = format!(
            "{}{prefix}_{:08x}",
            database_name_prefix(),
            rand::random::<u32>()
        );
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        Self {
            url: with_database(&admin, &name),
            name: Some(name),
            admin: Some(admin),
            _dir: None,
        }
    }

    /// The CPU so far of the PostgreSQL server processes serving this database (nothing on
    /// SQLite, whose work is in the process itself).
    pub async fn server_cpu(&self) -> load::DatabaseCpu {
        match &self.name {
            Some(name) => load::DatabaseCpu::sample(&postgres_admin_url(), name).await,
            None => load::DatabaseCpu::default(),
        }
    }

    /// `"sqlite"` or `"postgres"`, for reports.
    pub fn backend(&self) -> &'static str {
        if self.url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        }
    }
}

/// `SIGSTACK_BENCH_DATABASE_PREFIX` (letters, digits and `_` only, else ignored): put before
/// the names of the databases the benchmarks make, so that whoever shares the server can tell
/// theirs apart and drop only those afterwards.
fn database_name_prefix() -> String {
    std::env::var("SIGSTACK_BENCH_DATABASE_PREFIX")
        .ok()
        .filter(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or_default()
}

/// The `p` quantile (0 to 1) of sorted latencies, in milliseconds; 0 for no samples.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0.0;
    };
    sorted[((sorted.len() as f64 * p) as usize).min(last)].as_secs_f64() * 1e3
}

/// The median of `values`: the middle one, or the mean of the middle two of an even count;
/// none for no values. How the growth benchmarks read their pairs of windows.
pub fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut sorted: Vec<f64> = values.into_iter().collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// A signing key for a benchmark: generated in memory, or, when `SIGSTACK_BENCH_PKCS11` names a
/// token (a `pkcs11:` URI without an object, as `scripts/bench-softhsm.sh` sets it), the token's
/// object `name` (made there if missing), so the same run measures signing in an HSM.
pub fn bench_signer(
    name: &str,
    algorithm: sigstack_keys::Algorithm,
) -> std::sync::Arc<dyn sigstack_keys::Signer> {
    match std::env::var("SIGSTACK_BENCH_PKCS11") {
        Ok(base) if !base.is_empty() => {
            let (path, query) = base.split_once('?').unwrap_or((&base, ""));
            let uri = format!("{path};object={name}?{query}")
                .parse()
                .expect("SIGSTACK_BENCH_PKCS11 is a pkcs11: URI");
            std::sync::Arc::new(
                sigstack_keys::Pkcs11Key::open_or_generate(&uri, algorithm)
                    .expect("the benchmark's key in the token"),
            )
        }
        _ => std::sync::Arc::new(sigstack_keys::SoftwareKey::generate(algorithm)),
    }
}

/// Which keys [`bench_signer`] gives: `softhsm2` or `file` (in memory, as a key file loads).
pub fn bench_keys_label() -> &'static str {
    match std::env::var("SIGSTACK_BENCH_PKCS11") {
        Ok(base) if !base.is_empty() => "softhsm2",
        _ => "file",
    }
}

/// The PostgreSQL server tests use: `$SIGSTACK_TEST_DATABASE_URL` (set by `scripts/test.sh`),
/// else the conventional local one.
pub fn postgres_admin_url() -> String {
    std::env::var("SIGSTACK_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A database for one test. PostgreSQL databases are dropped when this is dropped; SQLite files
/// live in a temporary directory removed with it.
pub struct TestDb {
    /// The database URL.
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A fresh SQLite file.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("test.sqlite").display());
        TestDb {
            url,
            pg_name: None,
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database in [`postgres_admin_url`]'s server; the test fails, saying
    /// how to get a server, when there is none.
    pub async fn postgres() -> Self {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let admin = postgres_admin_url();
        let mut conn = sqlx::AnyConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is required for this test and is not reachable at {admin}: {e}.\n\
                 Run the tests with `bash scripts/test.sh` (it starts a throwaway server when \
                 PostgreSQL is installed), or set SIGSTACK_TEST_DATABASE_URL."
                )
            });
        let name = format!("sigstack_test_{:016x}", rand::random::<u64>());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        TestDb {
            // The admin URL with another database; its query (sslmode=…) kept.
            url: with_database(&admin, &name),
            pg_name: Some(name),
            _dir: None,
        }
    }
}

impl TestDb {
    /// The PostgreSQL database's name (`None` on SQLite), for tests that act on the database
    /// itself (refusing its connections, say).
    pub fn pg_name(&self) -> Option<&str> {
        self.pg_name.as_deref()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            drop_database(postgres_admin_url(), name);
        }
    }
}

/// Drops PostgreSQL database `name` of the server at `admin`, its connections closed first;
/// from a thread with its own runtime, because `Drop` cannot await.
fn drop_database(admin: String, name: String) {
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            use sqlx::Connection;
            if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        });
    })
    .join();
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(super::median([]), None);
        assert_eq!(super::median([0.9, 0.7, 0.8]), Some(0.8));
        assert_eq!(super::median([0.9, 0.6, 0.7, 0.8]), Some(0.75));
    }
}
