//! HTTPS on a service's listener: `--tls-cert` and `--tls-key`, reloaded when the files change.
//!
//! The certificate and key are read once at start-up (a file that does not load stops the
//! service before anything is written) and then polled: every poll re-reads both files and
//! compares them with what it saw last, so a change is noticed whatever the file system's
//! timestamp resolution, and a rename over a file (how cert-manager, certbot and careful
//! operators replace it) is seen as well as an in-place write. A change that loads is used for
//! every handshake from then on; connections already open keep the certificate they were
//! opened with. A change that does not load (unreadable, not PEM, a key that is not the
//! certificate's, e.g. while one file has been replaced and the other not yet) is logged once
//! and the certificate in force is kept, until the files change again.
//!
//! Handshakes run beside the accept loop, each bounded by [`HANDSHAKE_TIMEOUT`], so a client
//! that opens a connection and says nothing holds up no one else.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use tokio::net::TcpStream;

/// How often the certificate and key files are looked at by default.
pub(crate) const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(10);
/// How long a client may take to complete the TLS handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes under way at once on one listener; more connections wait in the kernel's queue.
const MAX_HANDSHAKES: usize = 1024;

/// The TLS flags every service takes (`#[command(flatten)]`). Without them the service speaks
/// plain HTTP, as behind a TLS-terminating load balancer.
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct TlsArgs {
    /// Serve HTTPS with this certificate chain (PEM: the server's certificate first, then any
    /// intermediates). Needs --tls-key. Reloaded when the file changes.
    #[arg(long, env = "SIGSTACK_TLS_CERT", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, or PKCS#1/SEC1). Reloaded when the file
    /// changes; a change that does not load is logged and the certificate in force kept.
    #[arg(long, env = "SIGSTACK_TLS_KEY", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
    /// How often to look for changes to the --tls-cert and --tls-key files, in seconds (0:
    /// never).
    #[arg(
        long,
        env = "SIGSTACK_TLS_RELOAD_SECS",
        default_value_t = DEFAULT_RELOAD_INTERVAL.as_secs()
    )]
    pub(crate) tls_reload_secs: u64,
}

impl TlsArgs {
    /// The listener's TLS, or `None` for plain HTTP. Fails, in one line naming the flag and the
    /// file, if the certificate or key does not load.
    pub(crate) fn load(&self) -> anyhow::Result<Option<ServerTls>> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            // clap's `requires` makes the two come together.
            return Ok(None);
        };
        let reload = (self.tls_reload_secs > 0).then(|| Duration::from_secs(self.tls_reload_secs));
        ServerTls::load(TlsFiles::new(cert, key), reload).map(Some)
    }
}

/// The two files a listener's certificate is loaded from.
#[derive(Debug, Clone)]
pub(crate) struct TlsFiles {
    cert: PathBuf,
    key: PathBuf,
}

/// The bytes of both files, as last read.
#[derive(PartialEq, Eq)]
struct Contents {
    cert: Vec<u8>,
    key: Vec<u8>,
}

impl TlsFiles {
    pub(crate) fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        Self {
            cert: cert.into(),
            key: key.into(),
        }
    }

    fn read(&self) -> anyhow::Result<Contents> {
        let read = |flag: &str, path: &Path| {
            std::fs::read(path).map_err(|e| anyhow::anyhow!("{flag} {}: {e}", path.display()))
        };
        Ok(Contents {
            cert: read("--tls-cert", &self.cert)?,
            key: read("--tls-key", &self.key)?,
        })
    }

    /// The certificate chain and key, checked to belong together. Errors are one line each.
    fn parse(&self, contents: &Contents) -> anyhow::Result<Arc<CertifiedKey>> {
        let cert_path = self.cert.display();
        let key_path = self.key.display();
        let chain = CertificateDer::pem_slice_iter(&contents.cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("--tls-cert {cert_path}: not a PEM file: {e}"))?;
        anyhow::ensure!(
            !chain.is_empty(),
            "--tls-cert {cert_path}: no PEM certificate in it"
        );
        let key = PrivateKeyDer::from_pem_slice(&contents.key).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                anyhow::anyhow!("--tls-key {key_path}: no PEM private key in it")
            }
            e => anyhow::anyhow!("--tls-key {key_path}: not a PEM private key: {e}"),
        })?;
        CertifiedKey::from_der(chain, key, &provider())
            .map(Arc::new)
            .map_err(|e| match e {
                rustls::Error::InconsistentKeys(_) => anyhow::anyhow!(
                    "--tls-key {key_path} is not the key of the certificate in --tls-cert {cert_path}"
                ),
                e => anyhow::anyhow!("--tls-cert {cert_path}, --tls-key {key_path}: {e}"),
            })
    }
}

/// The one cryptography provider of the binary's TLS (aws-lc-rs, as sqlx's and jsonwebtoken's),
/// named here rather than taken from the process default so that the listener does not depend
/// on start-up order.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Hands every handshake the certificate in force; [`CertWatcher`] replaces it.
#[derive(Debug)]
struct Resolver(RwLock<Arc<CertifiedKey>>);

impl Resolver {
    fn replace(&self, key: Arc<CertifiedKey>) {
        // A poisoned lock only means a writer panicked between two whole-Arc stores.
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = key;
    }
}

impl rustls::server::ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

/// A listener's TLS: the acceptor, and what keeps its certificate current.
pub(crate) struct ServerTls {
    acceptor: tokio_rustls::TlsAcceptor,
    watcher: Option<(CertWatcher, Duration)>,
}

impl ServerTls {
    /// Loads `files` now; with `reload`, polls them that often once serving.
    pub(crate) fn load(files: TlsFiles, reload: Option<Duration>) -> anyhow::Result<Self> {
        let seen = files.read()?;
        let resolver = Arc::new(Resolver(RwLock::new(files.parse(&seen)?)));
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        // HTTP/1.1 only, as on plain listeners: the workspace's axum is built without http2,
        // and a client that negotiated h2 would get nothing.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            watcher: reload.map(|every| {
                (
                    CertWatcher {
                        files,
                        seen,
                        resolver,
                    },
                    every,
                )
            }),
        })
    }

    /// `tcp` speaking TLS, and the task that reloads the certificate (stopped when the
    /// returned guard is dropped).
    pub(crate) fn listen(self, tcp: tokio::net::TcpListener) -> (TlsListener, ReloadGuard) {
        let reloader = self.watcher.map(|(mut watcher, every)| {
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(every);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticker.tick().await; // the first tick is immediate; the files were just loaded
                loop {
                    ticker.tick().await;
                    watcher.poll();
                }
            })
        });
        let listener = TlsListener {
            tcp,
            acceptor: self.acceptor,
            handshakes: tokio::task::JoinSet::new(),
        };
        (listener, ReloadGuard(reloader))
    }
}

/// Stops the certificate reloader when dropped.
pub(crate) struct ReloadGuard(Option<tokio::task::JoinHandle<()>>);

impl Drop for ReloadGuard {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

/// Watches a listener's certificate and key files.
struct CertWatcher {
    files: TlsFiles,
    /// What the files held at the last poll (loaded or refused): a refused change is reported
    /// once, not at every poll.
    seen: Contents,
    resolver: Arc<Resolver>,
}

impl CertWatcher {
    /// Looks at the files once; puts a changed certificate that loads in force.
    fn poll(&mut self) {
        let contents = match self.files.read() {
            Ok(c) => c,
            Err(e) => {
                // Missing for a moment while being replaced: keep what is in force, look again.
                tracing::warn!(error = %e, "TLS certificate files unreadable; keeping the certificate in force");
                return;
            }
        };
        if contents == self.seen {
            return;
        }
        let result = self.files.parse(&contents);
        self.seen = contents;
        match result {
            Ok(key) => {
                self.resolver.replace(key);
                tracing::info!(
                    cert = %self.files.cert.display(),
                    key = %self.files.key.display(),
                    "TLS certificate files changed: new certificate in force"
                );
            }
            Err(e) => tracing::error!(
                error = %e,
                "TLS certificate files changed but do not load; keeping the certificate in force"
            ),
        }
    }
}

/// A TCP listener whose connections are handed to axum once their TLS handshake is done.
pub(crate) struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    /// Handshakes under way; dropped (and so aborted) with the listener when serving stops.
    handshakes:
        tokio::task::JoinSet<Option<(tokio_rustls::server::TlsStream<TcpStream>, SocketAddr)>>,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    // Cancel-safe, as axum needs when a shutdown interrupts it: the TCP accept is, and a
    // finished handshake is taken from the set only when it is returned.
    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let room = self.handshakes.len() < MAX_HANDSHAKES;
            tokio::select! {
                // axum's accept for a TcpListener retries (and logs) accept errors itself.
                (tcp, peer) = axum::serve::Listener::accept(&mut self.tcp), if room => {
                    let acceptor = self.acceptor.clone();
                    self.handshakes.spawn(async move {
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(tls)) => Some((tls, peer)),
                            // Clients that do not trust the certificate end here: not the
                            // server's fault, so not above debug.
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                None
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                None
                            }
                        }
                    });
                }
                Some(done) = self.handshakes.join_next() => {
                    if let Ok(Some(connection)) = done {
                        return connection;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

    /// A CA, and a certificate for 127.0.0.1 it issued: (CA PEM, certificate PEM, key PEM,
    /// certificate DER).
    fn issue(name: &str) -> (String, String, String, Vec<u8>) {
        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} CA"));
        let ca = ca.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        (
            ca.pem(),
            cert.pem(),
            key.serialize_pem(),
            cert.der().to_vec(),
        )
    }

    /// Writes a file as a renewal does: a new file renamed over the old one.
    fn replace(path: &Path, contents: &str) {
        let new = path.with_extension("new");
        std::fs::write(&new, contents).unwrap();
        std::fs::rename(new, path).unwrap();
    }

    /// An HTTPS client trusting only `ca_pem`, without connection reuse.
    fn client(ca_pem: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    }

    /// The end-entity certificate the server at `addr` presents to a client trusting `cas`.
    async fn presented(addr: SocketAddr, cas: &[&str]) -> Vec<u8> {
        let mut roots = rustls::RootCertStore::empty();
        for ca in cas {
            roots
                .add(CertificateDer::from_pem_slice(ca.as_bytes()).unwrap())
                .unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect("127.0.0.1".try_into().unwrap(), tcp)
            .await
            .unwrap();
        tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serves_https_and_new_connections_get_a_replaced_certificate() {
        use axum::extract::ConnectInfo;
        let dir = tempfile::tempdir().unwrap();
        let (cert_path, key_path) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
        let (ca1, cert1, key1, der1) = issue("first");
        let (ca2, cert2, key2, der2) = issue("second");
        std::fs::write(&cert_path, &cert1).unwrap();
        std::fs::write(&key_path, &key1).unwrap();

        let tls = ServerTls::load(
            TlsFiles::new(&cert_path, &key_path),
            Some(Duration::from_millis(50)),
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The peer address still reaches handlers (the access log and the dev issuer use it).
        let router = axum::Router::new().route(
            "/peer",
            axum::routing::get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                peer.ip().to_string()
            }),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(
            crate::serve::Servers::default()
                .with_tls("test".into(), listener, router, Some(tls))
                .run_until(
                    async {
                        let _ = stopped.await;
                    },
                    Duration::from_secs(5),
                ),
        );
        let url = format!("https://{addr}/peer");

        let answer = client(&ca1).get(&url).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.text().await.unwrap(), "127.0.0.1");
        assert_eq!(presented(addr, &[&ca1, &ca2]).await, der1);
        // Plain HTTP on the TLS port gets no answer.
        assert!(reqwest::get(format!("http://{addr}/peer")).await.is_err());

        // Renewed: key first, then certificate (in between, the pair does not match, and the
        // certificate in force is kept).
        replace(&key_path, &key2);
        replace(&cert_path, &cert2);
        let mut renewed = false;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if presented(addr, &[&ca1, &ca2]).await == der2 {
                renewed = true;
                break;
            }
        }
        assert!(renewed, "new connections still get the old certificate");
        let answer = client(&ca2).get(&url).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        let err = client(&ca1).get(&url).send().await.unwrap_err();
        let chain = sigstack_http::error_chain(&err);
        assert!(chain.contains("UnknownIssuer"), "{chain}");

        // A replacement that does not load leaves the certificate in force.
        replace(&key_path, "not a key");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(presented(addr, &[&ca1, &ca2]).await, der2);

        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stop_lets_https_requests_in_flight_finish() {
        let dir = tempfile::tempdir().unwrap();
        let (cert_path, key_path) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
        let (ca, cert, key, _) = issue("drain");
        std::fs::write(&cert_path, &cert).unwrap();
        std::fs::write(&key_path, &key).unwrap();
        let tls = ServerTls::load(TlsFiles::new(&cert_path, &key_path), None).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The handler says when it has begun, so the stop comes while the request is in
        // flight however slowly the handshake goes on a loaded machine.
        let begun = Arc::new(tokio::sync::Notify::new());
        let router = axum::Router::new().route(
            "/slow",
            axum::routing::get({
                let begun = begun.clone();
                || async move {
                    begun.notify_one();
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    "done"
                }
            }),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(
            crate::serve::Servers::default()
                .with_tls("test".into(), listener, router, Some(tls))
                .run_until(
                    async {
                        let _ = stopped.await;
                    },
                    Duration::from_secs(10),
                ),
        );
        let in_flight = tokio::spawn(client(&ca).get(format!("https://{addr}/slow")).send());
        begun.notified().await;
        stop.send(()).unwrap();
        let answer = in_flight.await.unwrap().unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.text().await.unwrap(), "done");
        server.await.unwrap().unwrap();
        // Stopped: no new connections.
        assert!(TcpStream::connect(addr).await.is_err());
    }

    #[test]
    fn files_that_do_not_load_are_one_line_start_up_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        let (_, cert, key, _) = issue("good");
        let (_, _, other_key, _) = issue("other");
        std::fs::write(path("cert.pem"), &cert).unwrap();
        std::fs::write(path("key.pem"), &key).unwrap();
        std::fs::write(path("other-key.pem"), &other_key).unwrap();
        std::fs::write(path("text"), "hello\n").unwrap();
        let load = |cert: &str, key: &str| {
            let args = TlsArgs {
                tls_cert: Some(path(cert)),
                tls_key: Some(path(key)),
                tls_reload_secs: 0,
            };
            match args.load() {
                Ok(_) => String::new(),
                Err(e) => {
                    assert_eq!(e.chain().count(), 1, "{e:#}");
                    e.to_string()
                }
            }
        };
        assert_eq!(load("cert.pem", "key.pem"), "");
        for (cert, key, expected) in [
            ("missing.pem", "key.pem", "--tls-cert "),
            ("cert.pem", "missing.pem", "--tls-key "),
            ("text", "key.pem", "no PEM certificate in it"),
            ("cert.pem", "text", "no PEM private key in it"),
            (
                "cert.pem",
                "other-key.pem",
                "is not the key of the certificate",
            ),
            // A certificate where the key should be.
            ("cert.pem", "cert.pem", "no PEM private key in it"),
        ] {
            let err = load(cert, key);
            assert!(err.contains(expected), "{cert}, {key}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
        // Without the flags: plain HTTP.
        assert!(TlsArgs::default().load().unwrap().is_none());
    }
}
