//! libpq's multi-host connection strings over sqlx, which connects to one host per URL.
//!
//! `postgres://u@h1:5432,h2:5433/db?target_session_attrs=read-write` names several servers and
//! the kind of server a session must land on, as libpq accepts it
//! (<https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-MULTIPLE-HOSTS>). sqlx
//! 0.8 takes one host, so:
//!
//! - [`HostList::parse`] splits such a URL into one single-host URL per server, in order, and the
//!   [`SessionAttrs`] asked for (the pure part, unit-tested);
//! - [`resolve`] probes the servers in order, as libpq does, and picks the first that fits;
//! - [`Failover::watch`] keeps checking the chosen server with a connection of its own and, when
//!   it stops answering or stops fitting (a primary that went down, a standby that was
//!   promoted), resolves again and points the pools at the new server
//!   (`Pool::set_connect_options`). sqlx's pools retry a refused connection until their acquire
//!   timeout and read the options again on each attempt, so requests waiting through a failover
//!   go on to the new primary instead of failing;
//! - [`SessionAttrs::check`] runs on every new pooled connection, so a session never lands on a
//!   server of the wrong kind even between two checks of the watcher.
//!
//! A URL with one host and no `target_session_attrs` (or `any`) is left to sqlx as before.

use crate::error::StoreError;
use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, AnyPool, Connection, Row};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// How often the watcher checks that the server the pools use still fits: the bulk of the
/// write gap of a failover, with the time the standby takes to be promoted.
pub(crate) const FAILOVER_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// How long one probe (connect and one query) of a server may take before the server counts as
/// unreachable: a host that drops packets must not hold up trying the next one.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// libpq's default port, for hosts written without one.
const DEFAULT_PORT: u16 = 5432;

/// What kind of server a session must land on (libpq's `target_session_attrs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionAttrs {
    /// Any server that answers (the default).
    Any,
    /// A server whose sessions can write (`transaction_read_only` off).
    ReadWrite,
    /// A server whose sessions cannot write.
    ReadOnly,
    /// A server not in recovery.
    Primary,
    /// A server in recovery (a hot standby).
    Standby,
    /// A standby when one answers, else any server.
    PreferStandby,
}

impl SessionAttrs {
    fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "any" => SessionAttrs::Any,
            "read-write" => SessionAttrs::ReadWrite,
            "read-only" => SessionAttrs::ReadOnly,
            "primary" => SessionAttrs::Primary,
            "standby" => SessionAttrs::Standby,
            "prefer-standby" => SessionAttrs::PreferStandby,
            other => {
                return Err(format!(
                    "target_session_attrs={other}: expected any, read-write, read-only, primary, \
                     standby or prefer-standby"
                ))
            }
        })
    }

    /// The name libpq gives it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SessionAttrs::Any => "any",
            SessionAttrs::ReadWrite => "read-write",
            SessionAttrs::ReadOnly => "read-only",
            SessionAttrs::Primary => "primary",
            SessionAttrs::Standby => "standby",
            SessionAttrs::PreferStandby => "prefer-standby",
        }
    }

    /// Whether a session may stay on a server in `state`. `prefer-standby` accepts any server:
    /// the preference decides only which one [`choose`] picks.
    pub(crate) fn accepts(self, state: ServerState) -> bool {
        match self {
            SessionAttrs::Any | SessionAttrs::PreferStandby => true,
            SessionAttrs::ReadWrite => !state.read_only,
            SessionAttrs::ReadOnly => state.read_only,
            SessionAttrs::Primary => !state.in_recovery,
            SessionAttrs::Standby => state.in_recovery,
        }
    }

    /// Fails a connection to a server of the wrong kind (run on every new pooled connection).
    pub(crate) async fn check(self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        if matches!(self, SessionAttrs::Any | SessionAttrs::PreferStandby) {
            return Ok(());
        }
        let state = server_state(conn).await?;
        if self.accepts(state) {
            Ok(())
        } else {
            Err(sqlx::Error::Protocol(format!(
                "server is {state}, not {}",
                self.name()
            )))
        }
    }
}

/// What a probe of a server found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServerState {
    /// `pg_is_in_recovery()`: a standby (or a server still replaying its WAL).
    pub(crate) in_recovery: bool,
    /// `transaction_read_only` of a new session: true on a standby, or where the operator made
    /// sessions read-only by default.
    pub(crate) read_only: bool,
}

impl std::fmt::Display for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match (self.in_recovery, self.read_only) {
            (true, _) => "a standby",
            (false, true) => "a read-only primary",
            (false, false) => "a read-write primary",
        })
    }
}

/// Which server to use, given what probing the servers in order found (`None`: unreachable).
/// As libpq: the first that fits; for `prefer-standby` the first standby, else the first that
/// answered.
pub(crate) fn choose(attrs: SessionAttrs, probed: &[Option<ServerState>]) -> Option<usize> {
    let first = |fits: &dyn Fn(ServerState) -> bool| {
        probed.iter().position(|state| state.is_some_and(fits))
    };
    match attrs {
        SessionAttrs::PreferStandby => first(&|s| s.in_recovery).or_else(|| first(&|_| true)),
        attrs => first(&|s| attrs.accepts(s)),
    }
}

/// A PostgreSQL URL split into one single-host URL per server it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostList {
    /// `scheme://userinfo@`, as written.
    prefix: String,
    /// `host:port` per server, in the order given.
    hosts: Vec<String>,
    /// `/db?params` with `target_session_attrs` taken out (sqlx does not know it).
    suffix: String,
    /// The kind of server sessions must land on.
    pub(crate) attrs: SessionAttrs,
}

impl HostList {
    /// Parses libpq's URI form: `postgres[ql]://[userinfo@]host[:port][,host[:port]]…[/db][?params]`,
    /// `[v6addr]:port` included. A host without a port gets 5432, as in libpq.
    pub(crate) fn parse(url: &str) -> Result<Self, StoreError> {
        let bad = |why: String| StoreError::InvalidUrl(format!("{}: {why}", redact_userinfo(url)));
        let scheme_end = url.find("://").ok_or_else(|| bad("no scheme".into()))? + 3;
        let rest = &url[scheme_end..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let (userinfo, hostspec) = match authority.rfind('@') {
            Some(at) => authority.split_at(at + 1),
            None => ("", authority),
        };
        let mut hosts = Vec::new();
        if hostspec.is_empty() {
            // No host: a Unix socket (`?host=/run/postgresql`) or sqlx's default, left to sqlx.
            hosts.push(String::new());
        } else {
            for spec in hostspec.split(',') {
                hosts.push(host_with_port(spec).map_err(bad)?);
            }
        }
        let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
        let mut attrs = SessionAttrs::Any;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("target_session_attrs", value)) => {
                    attrs = SessionAttrs::parse(value).map_err(bad)?;
                }
                _ => kept.push(pair),
            }
        }
        let suffix = if kept.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", kept.join("&"))
        };
        Ok(Self {
            prefix: format!("{}{userinfo}", &url[..scheme_end]),
            hosts,
            suffix,
            attrs,
        })
    }

    /// Whether sqlx can take the URL as it is: one host, any kind of server.
    pub(crate) fn is_plain(&self) -> bool {
        self.hosts.len() == 1 && self.attrs == SessionAttrs::Any
    }

    /// The servers, as `host:port`.
    #[cfg(test)]
    pub(crate) fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// The single-host URL of server `i`.
    pub(crate) fn host_url(&self, i: usize) -> String {
        format!("{}{}{}", self.prefix, self.hosts[i], self.suffix)
    }
}

/// `host[:port]` or `[v6]:port`, with the default port filled in.
fn host_with_port(spec: &str) -> Result<String, String> {
    let (host, port) = if let Some(v6) = spec.strip_prefix('[') {
        let (addr, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("unclosed [ in host {spec:?}"))?;
        (format!("[{addr}]"), after.strip_prefix(':'))
    } else {
        match spec.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (spec.to_string(), None),
        }
    };
    if host.is_empty() || host == "[]" {
        return Err(format!("empty host in {spec:?}"));
    }
    let port = match port {
        None | Some("") => DEFAULT_PORT,
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| format!("port {p:?} of host {host} is not a port number"))?,
    };
    Ok(format!("{host}:{port}"))
}

/// The URL with any password hidden, for errors.
fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

/// Asks a connected server what it is.
async fn server_state(conn: &mut AnyConnection) -> Result<ServerState, sqlx::Error> {
    // Text columns: the Any driver maps them the same on every backend.
    let row = sqlx::query(
        "SELECT CASE WHEN pg_is_in_recovery() THEN 'on' ELSE 'off' END AS in_recovery, \
         current_setting('transaction_read_only') AS read_only",
    )
    .fetch_one(&mut *conn)
    .await?;
    let on = |column: &str| -> Result<bool, sqlx::Error> {
        Ok(row.try_get::<String, _>(column)? == "on")
    };
    Ok(ServerState {
        in_recovery: on("in_recovery")?,
        read_only: on("read_only")?,
    })
}

/// Connects to one server and asks what it is, within [`PROBE_TIMEOUT`].
async fn probe(url: &str) -> Option<(AnyConnection, ServerState)> {
    let attempt = async {
        let mut conn = AnyConnection::connect(url).await?;
        let state = server_state(&mut conn).await?;
        Ok::<_, sqlx::Error>((conn, state))
    };
    match tokio::time::timeout(PROBE_TIMEOUT, attempt).await {
        Ok(Ok(found)) => Some(found),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "database server probe failed");
            None
        }
        Err(_) => None,
    }
}

/// Probes the servers in order and returns the first that fits (see [`choose`]), with a
/// connection to it.
pub(crate) async fn resolve(hosts: &HostList) -> Result<(usize, AnyConnection), StoreError> {
    let mut probed = Vec::with_capacity(hosts.hosts.len());
    let mut conns = Vec::with_capacity(hosts.hosts.len());
    for i in 0..hosts.hosts.len() {
        let found = probe(&hosts.host_url(i)).await;
        probed.push(found.as_ref().map(|(_, s)| *s));
        conns.push(found.map(|(c, _)| c));
        // Stop at the first that fits, as libpq does, unless a later standby may be preferred.
        let settled = match hosts.attrs {
            SessionAttrs::PreferStandby => probed[i].is_some_and(|s| s.in_recovery),
            attrs => probed[i].is_some_and(|s| attrs.accepts(s)),
        };
        if settled {
            break;
        }
    }
    let chosen = choose(hosts.attrs, &probed).ok_or_else(|| StoreError::NoServer {
        attrs: hosts.attrs.name(),
        hosts: hosts.hosts.join(","),
    })?;
    let conn = conns[chosen].take().expect("a chosen server answered");
    Ok((chosen, conn))
}

/// Stops a watcher (and lets go of its pools) when dropped.
#[derive(Debug)]
pub(crate) struct WatchGuard {
    /// Never sent on: dropping it is the signal.
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// The server a set of pools uses among those of a multi-host URL, kept right by a watcher.
#[derive(Debug)]
pub(crate) struct Failover {
    hosts: HostList,
}

impl Failover {
    /// Picks the server for `hosts` now; `Ok` with the URL to open the pools on.
    pub(crate) async fn start(hosts: HostList) -> Result<(Arc<Self>, usize, String), StoreError> {
        let (chosen, conn) = resolve(&hosts).await?;
        drop(conn);
        let url = hosts.host_url(chosen);
        tracing::info!(host = %hosts.hosts[chosen], attrs = hosts.attrs.name(), "database server chosen");
        Ok((Arc::new(Self { hosts }), chosen, url))
    }

    /// Watches server `current` for `pools` (all on it), moving them to another server when
    /// it stops fitting, until the guard is dropped or the first pool is closed. Runs on the
    /// caller's runtime.
    pub(crate) fn watch(self: &Arc<Self>, mut current: usize, pools: Vec<AnyPool>) -> WatchGuard {
        let this = Arc::clone(self);
        let (guard, mut stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let mut checker: Option<AnyConnection> = None;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(FAILOVER_CHECK_INTERVAL) => {}
                    // The guard was dropped: the store is gone.
                    _ = &mut stopped => return,
                }
                if pools.first().is_none_or(|p| p.is_closed()) {
                    return;
                }
                if this.still_fits(&mut checker, current).await {
                    continue;
                }
                match resolve(&this.hosts).await {
                    Ok((chosen, conn)) => {
                        checker = Some(conn);
                        if chosen != current {
                            this.move_pools(&pools, current, chosen);
                            current = chosen;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "no database server to fail over to yet"),
                }
            }
        });
        WatchGuard { _stop: guard }
    }

    /// Whether server `current` answers and still fits, on the watcher's own connection (made
    /// again once if it broke): a pool's connections may all be busy under load.
    async fn still_fits(&self, checker: &mut Option<AnyConnection>, current: usize) -> bool {
        for _ in 0..2 {
            if checker.is_none() {
                *checker = probe(&self.hosts.host_url(current)).await.map(|(c, _)| c);
            }
            let Some(conn) = checker.as_mut() else {
                return false;
            };
            match tokio::time::timeout(PROBE_TIMEOUT, server_state(conn)).await {
                Ok(Ok(state)) => return self.hosts.attrs.accepts(state),
                _ => *checker = None,
            }
        }
        false
    }

    fn move_pools(&self, pools: &[AnyPool], from: usize, to: usize) {
        match AnyConnectOptions::from_str(&self.hosts.host_url(to)) {
            Ok(options) => {
                for pool in pools {
                    pool.set_connect_options(options.clone());
                }
                tracing::warn!(
                    from = %self.hosts.hosts[from],
                    to = %self.hosts.hosts[to],
                    attrs = self.hosts.attrs.name(),
                    "database failover: new connections go to another server"
                );
            }
            Err(e) => tracing::error!(error = %e, "database failover: options of the new server"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIMARY: ServerState = ServerState {
        in_recovery: false,
        read_only: false,
    };
    const STANDBY: ServerState = ServerState {
        in_recovery: true,
        read_only: true,
    };
    const READ_ONLY_PRIMARY: ServerState = ServerState {
        in_recovery: false,
        read_only: true,
    };

    #[test]
    fn multi_host_urls_split_into_one_url_per_server() {
        let list = HostList::parse(
            "postgres://u:pw@h1:5432,h2:5433,h3/db?sslmode=disable&target_session_attrs=read-write&application_name=x",
        )
        .unwrap();
        assert_eq!(list.attrs, SessionAttrs::ReadWrite);
        assert_eq!(list.hosts(), ["h1:5432", "h2:5433", "h3:5432"]);
        assert_eq!(
            list.host_url(1),
            "postgres://u:pw@h2:5433/db?sslmode=disable&application_name=x"
        );
        assert!(!list.is_plain());
    }

    #[test]
    fn plain_urls_stay_plain() {
        let list = HostList::parse("postgresql://u@127.0.0.1:5432/sigstack").unwrap();
        assert!(list.is_plain());
        assert_eq!(list.host_url(0), "postgresql://u@127.0.0.1:5432/sigstack");
        let bare = HostList::parse("postgres://localhost").unwrap();
        assert_eq!(bare.host_url(0), "postgres://localhost:5432");
        let any = HostList::parse("postgres://h/db?target_session_attrs=any").unwrap();
        assert!(any.is_plain());
        assert_eq!(any.host_url(0), "postgres://h:5432/db");
        let socket = HostList::parse("postgres:///db?host=/run/postgresql").unwrap();
        assert!(socket.is_plain());
        assert_eq!(socket.host_url(0), "postgres:///db?host=/run/postgresql");
        // One host that must be a primary still needs the check.
        assert!(
            !HostList::parse("postgres://h/db?target_session_attrs=primary")
                .unwrap()
                .is_plain()
        );
    }

    #[test]
    fn ipv6_hosts_keep_their_brackets() {
        let list = HostList::parse("postgres://[::1]:5433,[fe80::1]/db").unwrap();
        assert_eq!(list.hosts(), ["[::1]:5433", "[fe80::1]:5432"]);
    }

    #[test]
    fn bad_urls_are_refused_without_their_password() {
        for url in [
            "postgres://u:secret@h1:5432,:5433/db",
            "postgres://u:secret@h1:port/db",
            "postgres://u:secret@[::1/db",
            "postgres://u:secret@h/db?target_session_attrs=writable",
        ] {
            let err = HostList::parse(url).unwrap_err().to_string();
            assert!(!err.contains("secret"), "{err}");
            assert!(err.contains("u:***@"), "{err}");
        }
    }

    #[test]
    fn the_first_server_that_fits_is_chosen() {
        let probed = [None, Some(STANDBY), Some(PRIMARY), Some(PRIMARY)];
        assert_eq!(choose(SessionAttrs::ReadWrite, &probed), Some(2));
        assert_eq!(choose(SessionAttrs::Primary, &probed), Some(2));
        assert_eq!(choose(SessionAttrs::Standby, &probed), Some(1));
        assert_eq!(choose(SessionAttrs::ReadOnly, &probed), Some(1));
        assert_eq!(choose(SessionAttrs::Any, &probed), Some(1));
        assert_eq!(choose(SessionAttrs::PreferStandby, &probed), Some(1));
        // No standby: prefer-standby takes the first that answered.
        assert_eq!(
            choose(SessionAttrs::PreferStandby, &[None, Some(PRIMARY)]),
            Some(1)
        );
        // Nothing fits: no server.
        assert_eq!(
            choose(SessionAttrs::ReadWrite, &[Some(STANDBY), None]),
            None
        );
        assert_eq!(choose(SessionAttrs::Any, &[None, None]), None);
    }

    #[test]
    fn read_write_and_primary_differ_on_a_read_only_primary() {
        assert!(!SessionAttrs::ReadWrite.accepts(READ_ONLY_PRIMARY));
        assert!(SessionAttrs::Primary.accepts(READ_ONLY_PRIMARY));
        assert!(SessionAttrs::ReadOnly.accepts(READ_ONLY_PRIMARY));
        assert!(!SessionAttrs::Standby.accepts(READ_ONLY_PRIMARY));
        assert!(SessionAttrs::PreferStandby.accepts(PRIMARY));
    }
}
