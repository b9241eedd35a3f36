//! Serving a router until the process is told to stop: SIGTERM (what orchestrators and
//! `docker stop` send) and SIGINT (Ctrl-C) both stop accepting connections and let the requests
//! in flight finish (an entry is acknowledged only after its round commits, so none that was
//! answered is lost), for at most the shutdown grace period. A listener given a
//! [`ServerTls`] speaks HTTPS ([`crate::tls`]) and drains the same way.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::serve::ListenerExt as _;

use crate::tls::ServerTls;

/// Resolves when SIGTERM or SIGINT arrives.
pub(crate) async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// Serves `router` on `listener` (over TLS if `tls` is given) until [`shutdown_signal`], then
/// drains for up to `grace`.
pub(crate) async fn serve(
    name: &str,
    listener: tokio::net::TcpListener,
    router: axum::Router,
    tls: Option<ServerTls>,
    grace: Duration,
) -> anyhow::Result<()> {
    Servers::default()
        .with_tls(name.to_owned(), listener, router, tls)
        .run_until(shutdown_signal(), grace)
        .await
}

/// Serves one service until SIGTERM or SIGINT: its `/metrics` where `metrics` says
/// (`--metrics-listen`, else beside the API), its listener on `addr` (over TLS if `tls` is
/// given), and `announce(tls)` once every port is bound, so that what it logs is true.
#[allow(clippy::too_many_arguments)] // each is one of a service's own settings
pub(crate) async fn serve_service(
    name: &str,
    addr: SocketAddr,
    tls: Option<ServerTls>,
    router: axum::Router,
    registry: sigstack_http::MetricsRegistry,
    metrics: &crate::metrics_args::MetricsArgs,
    grace: Duration,
    announce: impl FnOnce(bool),
) -> anyhow::Result<()> {
    let (servers, router) = metrics
        .place_one(Servers::default(), router, registry)
        .await?;
    let tls_on = tls.is_some();
    let servers = servers.bind_tls(name, addr, router, tls).await?;
    announce(tls_on);
    servers.run_until(shutdown_signal(), grace).await
}

/// A bound listener, what it serves, and whether over TLS.
struct Bound {
    name: String,
    listener: tokio::net::TcpListener,
    router: axum::Router,
    tls: Option<ServerTls>,
}

/// Listeners that stop together: bound first (so a busy port fails start-up before anything is
/// announced), served until a signal, then drained within the grace period.
#[derive(Default)]
pub(crate) struct Servers {
    bound: Vec<Bound>,
}

impl Servers {
    /// Adds a bound listener and its router.
    pub(crate) fn with(
        self,
        name: String,
        listener: tokio::net::TcpListener,
        router: axum::Router,
    ) -> Self {
        self.with_tls(name, listener, router, None)
    }

    /// Adds a bound listener and its router, served over TLS if `tls` is given.
    pub(crate) fn with_tls(
        mut self,
        name: String,
        listener: tokio::net::TcpListener,
        router: axum::Router,
        tls: Option<ServerTls>,
    ) -> Self {
        self.bound.push(Bound {
            name,
            listener,
            router,
            tls,
        });
        self
    }

    /// Binds `addr` for `router`.
    pub(crate) async fn bind(
        self,
        name: &str,
        addr: SocketAddr,
        router: axum::Router,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("{name}: listening on {addr}"))?;
        Ok(self.with(name.to_owned(), listener, router))
    }

    /// Binds `addr` for `router`, served over TLS if `tls` is given.
    pub(crate) async fn bind_tls(
        self,
        name: &str,
        addr: SocketAddr,
        router: axum::Router,
        tls: Option<ServerTls>,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("{name}: listening on {addr}"))?;
        Ok(self.with_tls(name.to_owned(), listener, router, tls))
    }

    /// Serves every listener until `signal`, then stops accepting and waits up to `grace` for
    /// the requests in flight. A server that stops on its own brings the others down and is an
    /// error.
    pub(crate) async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()>,
        grace: Duration,
    ) -> anyhow::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        for Bound {
            name,
            listener,
            router,
            tls,
        } in self.bound
        {
            let mut stopped = stopped.clone();
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            // Connect info: the access log records the peer, and the development issuer
            // refuses non-loopback peers with it.
            let app = router.into_make_service_with_connect_info::<SocketAddr>();
            tasks.spawn(async move {
                match tls {
                    None => {
                        axum::serve(listener, app)
                            .with_graceful_shutdown(shutdown)
                            .await
                    }
                    Some(tls) => {
                        let (listener, _reloader) = tls.listen(listener);
                        // The no-op tap: axum gives `SocketAddr` connect info for its own
                        // TcpListener and for `TapIo` around any listener, not for others.
                        axum::serve(listener.tap_io(|_| {}), app)
                            .with_graceful_shutdown(shutdown)
                            .await
                    }
                }
                .with_context(|| format!("{name} stopped"))
            });
        }
        tokio::select! {
            _ = signal => {}
            Some(done) = tasks.join_next() => {
                let _ = stop.send(true);
                done??;
                anyhow::bail!("a service stopped unexpectedly");
            }
        }
        tracing::info!(
            grace_secs = grace.as_secs_f64(),
            "stopping: finishing the requests in flight"
        );
        let _ = stop.send(true);
        let drained = tokio::time::timeout(grace, async {
            while let Some(done) = tasks.join_next().await {
                done??;
            }
            anyhow::Ok(())
        })
        .await;
        match drained {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(
                    grace_secs = grace.as_secs_f64(),
                    "the shutdown grace period ended with requests still in flight"
                );
                Ok(())
            }
        }
    }
}
