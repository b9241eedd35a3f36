//! Where each service's `/metrics` is served, and what it holds besides the service's own
//! metrics: `<prefix>_build_info` and the process's metrics (CPU, memory, open files).
//!
//! Without `--metrics-listen`, `/metrics` is a route of the service's own listener. With it,
//! `/metrics` is served on that address only, as upstream serves it on `:2112`, so that the
//! public listener (often exposed to the internet) does not show it. In `sigstack up` that
//! address serves one exposition for the whole process: every service's metrics, the process's
//! once; without it, each service's listener serves its own, each with the metrics of the
//! process they share.

use crate::serve::Servers;
use sigstack_http::MetricsRegistry;
use std::net::SocketAddr;

/// The metrics flag every service command flattens in.
#[derive(clap::Args, Clone, Debug, Default)]
pub(crate) struct MetricsArgs {
    /// Serve `/metrics` on this address only (like upstream's `:2112`), not on the service's
    /// listener. In `up`: one `/metrics` for every service of the process.
    #[arg(long, env = "SIGSTACK_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
}

impl MetricsArgs {
    /// Gives each service its `/metrics` (see the module doc): `services` are the routers of
    /// this process and each one's registry; the routers come back in the same order, with
    /// `/metrics` added unless `--metrics-listen` put it on a listener of its own in `servers`.
    pub(crate) async fn place(
        &self,
        servers: Servers,
        services: Vec<(axum::Router, MetricsRegistry)>,
    ) -> anyhow::Result<(Servers, Vec<axum::Router>)> {
        let process = process_metrics();
        for (_, registry) in &services {
            registry.add_build_info(env!("SIGSTACK_GIT_REVISION"));
        }
        match self.metrics_listen {
            Some(addr) => {
                let mut registries: Vec<MetricsRegistry> =
                    services.iter().map(|(_, r)| r.clone()).collect();
                registries.push(process);
                tracing::info!(listen = %addr, "metrics serving");
                let servers = servers
                    .bind("metrics", addr, sigstack_http::metrics_router(registries))
                    .await?;
                Ok((servers, services.into_iter().map(|(r, _)| r).collect()))
            }
            None => {
                let routers = services
                    .into_iter()
                    .map(|(router, registry)| {
                        router.merge(sigstack_http::metrics_router(vec![
                            registry,
                            process.clone(),
                        ]))
                    })
                    .collect();
                Ok((servers, routers))
            }
        }
    }

    /// [`MetricsArgs::place`] for a process of one service.
    pub(crate) async fn place_one(
        &self,
        servers: Servers,
        router: axum::Router,
        registry: MetricsRegistry,
    ) -> anyhow::Result<(Servers, axum::Router)> {
        let (servers, mut routers) = self.place(servers, vec![(router, registry)]).await?;
        Ok((servers, routers.pop().expect("one router in, one out")))
    }
}

/// A registry of this process's metrics, upstream's `process_*` from Go's client (CPU seconds,
/// resident and virtual memory, open and maximum file descriptors, threads, start time): made
/// once per process and served with every service of it, so that `sigstack up`, where several
/// services share one process, registers the collector once. Linux only (it reads `/proc`);
/// empty elsewhere.
fn process_metrics() -> MetricsRegistry {
    let registry = MetricsRegistry::new();
    #[cfg(target_os = "linux")]
    registry.register_collector(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ));
    registry
}
