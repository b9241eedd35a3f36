//! Test databases: a fresh SQLite file or a fresh PostgreSQL database per test.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use tlog::note::{NoteSigner, NoteVerifier};
use tlog_store::{NoteCheckpointSigner, SqlStore};

/// The PostgreSQL server tests use: `$SIGSTACK_TEST_DATABASE_URL` (set by `scripts/test.sh`),
/// else the conventional local one.
pub fn postgres_admin_url() -> String {
    std::env::var("SIGSTACK_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A database for one test. PostgreSQL databases are dropped when this is dropped; SQLite files
/// live in a temporary directory.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("log.sqlite").display());
        TestDb {
            url,
            pg_name: None,
            _dir: Some(dir),
        }
    }

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
        // The admin URL with another database; its query (sslmode=…) kept.
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        let url = String::from(url);
        TestDb {
            url,
            pg_name: Some(name),
            _dir: None,
        }
    }

    pub async fn connect(&self) -> Arc<SqlStore> {
        Arc::new(SqlStore::connect(&self.url).await.unwrap())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let admin = postgres_admin_url();
            // Drop from a thread with its own runtime: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

/// A fixed Ed25519 checkpoint signer and its verifier.
pub fn test_signer(origin: &str) -> (Arc<NoteCheckpointSigner>, NoteVerifier) {
    let key = sigstack_keys::SoftwareKey::ed25519_from_seed(&[7u8; 32]);
    let signer = NoteSigner::ed25519(origin, Arc::new(key)).unwrap();
    let verifier = signer.verifier().clone();
    (Arc::new(NoteCheckpointSigner::new(vec![signer])), verifier)
}

/// Runs a test body once per backend.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = common::TestDb::sqlite().await;
                ($body)(db).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = common::TestDb::postgres().await;
                ($body)(db).await;
            }
        }
    };
}
