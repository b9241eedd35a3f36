//! `sigstack up`: the whole stack in one process on loopback ports, zero configuration.
//!
//! First start: creates the data directory (owner-only), every key, the development CA, the
//! TSA chain, the TUF root and the trust files; later starts reuse them, and the logs keep
//! growing. One `up` per data directory (a lock file); Ctrl-C drains requests in flight.

use crate::public_url::PublicUrl;
use crate::trust_cmd::DEFAULT_DEV_ISSUER_URL;
use crate::{datadir, rekor_cmd, services, trust_cmd};
use anyhow::Context;
use sigstack_keys::Algorithm;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tlog_store::{LogStore, SqlStore};

/// Flags of `sigstack up`.
#[derive(clap::Args)]
pub(crate) struct UpArgs {
    /// Where keys, the embedded database and trust files live.
    #[arg(long, env = "SIGSTACK_DATA_DIR", default_value = "sigstack-data")]
    data_dir: PathBuf,
    /// Use this database instead of the embedded SQLite file (postgres://… for production).
    #[arg(long, env = "SIGSTACK_DATABASE_URL")]
    database_url: Option<String>,
    /// With a PostgreSQL `--database-url`: a read replica the CT log and Rekor read from
    /// (repeatable, or a comma list), as `sigstack ctlog --read-database-url`.
    #[arg(long = "read-database-url", env = "SIGSTACK_READ_DATABASE_URL")]
    read_database_urls: Vec<String>,
    /// Address of the CT log.
    #[arg(long, env = "SIGSTACK_CTLOG_LISTEN", default_value = "127.0.0.1:6962")]
    ctlog_listen: SocketAddr,
    /// Address of Rekor (v1 and v2 APIs).
    #[arg(long, env = "SIGSTACK_REKOR_LISTEN", default_value = "127.0.0.1:3000")]
    rekor_listen: SocketAddr,
    /// Address of the CA.
    #[arg(long, env = "SIGSTACK_FULCIO_LISTEN", default_value = "127.0.0.1:5555")]
    fulcio_listen: SocketAddr,
    /// Address of the timestamp authority.
    #[arg(long, env = "SIGSTACK_TSA_LISTEN", default_value = "127.0.0.1:3003")]
    tsa_listen: SocketAddr,
    /// Address of the TUF repository.
    #[arg(long, env = "SIGSTACK_TUF_LISTEN", default_value = "127.0.0.1:8081")]
    tuf_listen: SocketAddr,
    /// Address of the log explorer (the web interface over the logs).
    #[arg(long, env = "SIGSTACK_EXPLORER_LISTEN", default_value = crate::explorer_cmd::DEFAULT_LISTEN)]
    explorer_listen: SocketAddr,
    /// Address of the witness that cosigns the checkpoints of the stack's logs (Rekor v2, the
    /// active Rekor v1 shard, the CT log); its key is `witness` beside the others.
    #[arg(long, env = "SIGSTACK_WITNESS_LISTEN", default_value = crate::witness_cmd::DEFAULT_LISTEN)]
    witness_listen: SocketAddr,
    /// Run no witness: the logs' checkpoints are not cosigned, and their
    /// `…/checkpoint/witnessed` endpoints answer 404.
    #[arg(long, env = "SIGSTACK_NO_WITNESS")]
    no_witness: bool,
    /// Address of the DEVELOPMENT OpenID issuer (loopback only).
    #[arg(
        long,
        env = "SIGSTACK_DEV_ISSUER_LISTEN",
        default_value = "127.0.0.1:5556"
    )]
    dev_issuer_listen: SocketAddr,
    /// The host name clients reach the services by, put in every published URL (trust files,
    /// signing_config, the Rekor v2 origin). Default: each service's listen address, which
    /// must then not be a wildcard (0.0.0.0, ::).
    #[arg(long, env = "SIGSTACK_PUBLIC_HOST")]
    public_host: Option<String>,
    /// Bind every service (not the development issuer, which stays on loopback) to this
    /// address, keeping each one's port.
    #[arg(long, env = "SIGSTACK_LISTEN_HOST")]
    listen_host: Option<std::net::IpAddr>,
    #[command(flatten)]
    metrics: crate::metrics_args::MetricsArgs,
    /// Keep every signing key of the stack (CA, CT log, Rekor v1 and v2, TSA, TUF root and
    /// online) in this PKCS#11 token instead of files: a `pkcs11:` URI naming the token, its
    /// module and PIN, without an object (`pkcs11:token=sigstack?module-path=…&pin-source=…`).
    /// Each key is the object of its name (`fulcio-ca`, `ctlog`, …), generated in the token
    /// at the first start.
    #[arg(long, env = "SIGSTACK_KEYS_PKCS11")]
    keys_pkcs11: Option<String>,
}

/// Where `up` keeps the stack's keys: files in the data directory, or objects in one token.
pub(crate) struct StackKeys {
    pub(crate) loader: Arc<sigstack_keys::KeyLoader>,
    dir: PathBuf,
    token: Option<String>,
}

/// Every key of the stack: its name (file stem or token object) and algorithm.
const STACK_KEYS: [(&str, Algorithm); 8] = [
    ("fulcio-ca", Algorithm::EcdsaP256Sha256),
    ("ctlog", Algorithm::EcdsaP256Sha256),
    ("rekor-v1", Algorithm::EcdsaP256Sha256),
    ("rekor-v2", Algorithm::Ed25519),
    ("tsa-key", Algorithm::EcdsaP256Sha256),
    ("tuf-root", Algorithm::EcdsaP256Sha256),
    ("tuf-online", Algorithm::EcdsaP256Sha256),
    ("witness", Algorithm::Ed25519),
];

impl StackKeys {
    /// Files under `dir`, or objects in the token of `token` (every key made there if missing).
    pub(crate) fn open(dir: PathBuf, token: Option<String>) -> anyhow::Result<Self> {
        let keys = Self {
            loader: crate::keys_cmd::development_loader(),
            dir,
            token,
        };
        if keys.token.is_some() {
            for (name, algorithm) in STACK_KEYS {
                let spec = keys.spec(name);
                let uri = spec.to_str().expect("a URI is text").parse()?;
                sigstack_keys::Pkcs11Key::open_or_generate(&uri, algorithm)
                    .with_context(|| format!("the {name} key in the token"))?;
            }
        }
        Ok(keys)
    }

    /// The key called `name`: `DIR/name.pem`, or the token's object `name`.
    pub(crate) fn spec(&self, name: &str) -> PathBuf {
        match &self.token {
            Some(base) => {
                let (path, query) = base.split_once('?').unwrap_or((base, ""));
                let sep = if path.ends_with(':') { "" } else { ";" };
                PathBuf::from(format!("{path}{sep}object={name}?{query}"))
            }
            None => self.dir.join(format!("{name}.pem")),
        }
    }

    /// Loads the key `name`, making it (a file) if missing.
    pub(crate) fn load(
        &self,
        name: &str,
        algorithm: Algorithm,
    ) -> anyhow::Result<Arc<dyn sigstack_keys::Signer>> {
        let spec = self.spec(name);
        self.loader
            .load_or_generate(&spec, algorithm)
            .with_context(|| format!("the {name} key"))
    }

    /// What the banner says about the keys.
    fn describe(&self) -> String {
        match (&self.token, self.loader.encrypts()) {
            (Some(_), _) => "in the PKCS#11 token given by --keys-pkcs11".into(),
            (None, true) => format!("encrypted files in {}", self.dir.display()),
            (None, false) => format!(
                "DEVELOPMENT keys: plaintext files in {} (production keys: --keys-pkcs11, or encrypted files with --key-password-file)",
                self.dir.display()
            ),
        }
    }
}

/// The URL a client in this process uses for a service listening on `addr` (a wildcard
/// address is reached on loopback).
fn local_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

impl UpArgs {
    /// `addr` with its IP replaced by `--listen-host`, if given.
    fn listen(&self, addr: SocketAddr) -> SocketAddr {
        self.listen_host
            .map_or(addr, |host| SocketAddr::new(host, addr.port()))
    }

    /// The URL clients use for the service listening on `listen`: `--public-host` with its
    /// port, else the listen address itself. A wildcard address is never published.
    fn public_url(&self, listen: SocketAddr) -> anyhow::Result<PublicUrl> {
        let url = match &self.public_host {
            Some(host) if host.contains(':') && !host.starts_with('[') => {
                format!("http://[{host}]:{}", listen.port())
            }
            Some(host) => format!("http://{host}:{}", listen.port()),
            None if listen.ip().is_unspecified() => anyhow::bail!(
                "listening on {listen} (every interface): pass --public-host with the name clients use, so that no wildcard address is published"
            ),
            None => format!("http://{listen}"),
        };
        url.parse()
            .with_context(|| format!("--public-host {:?}", self.public_host))
    }
}

pub(crate) async fn run(args: UpArgs, grace: std::time::Duration) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // Checked here, not by clap's `requires`: an empty SIGSTACK_READ_DATABASE_URL (compose's
    // default) names no replica.
    let read_urls = services::read_urls(&args.read_database_urls);
    anyhow::ensure!(
        read_urls.is_empty() || args.database_url.is_some(),
        "--read-database-url needs a PostgreSQL --database-url (the replicas are its replicas)"
    );
    let dir = datadir::DataDir::open(&args.data_dir)?;
    let data = dir.path().to_path_buf();
    let keys = data.join("keys");
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| dir.sqlite_url());
    let store: Arc<dyn LogStore> = Arc::new(
        SqlStore::connect_with_replicas(&url, &read_urls)
            .await
            .with_context(|| format!("opening the store in {}", data.display()))?,
    );
    let http = |addr: SocketAddr| format!("http://{addr}");
    let mut servers = crate::serve::Servers::default();

    // The development issuer, and Fulcio trusting it unless the data directory says otherwise.
    dev_oidc::check_listen_addr(args.dev_issuer_listen, false)?;
    let issuer_url = http(args.dev_issuer_listen);
    let issuer = dev_oidc::DevIssuer::open(&keys.join("dev-issuer.pem"), &issuer_url)?;
    let config_path = data.join("fulcio-config.yaml");
    let fulcio_config = if config_path.exists() {
        services::load_fulcio_config(&config_path)?
    } else {
        fulcio::FulcioConfig::parse(dev_oidc::fulcio_issuer_yaml(&issuer_url).as_bytes())
            .context("the development issuer's Fulcio configuration")?
    };

    let stack_keys = StackKeys::open(keys.clone(), args.keys_pkcs11.clone())?;
    // The CA comes before the CT log: the log must accept its root.
    let ca = services::dev_ca(&data, &stack_keys.loader, &stack_keys.spec("fulcio-ca"))?;
    let ca_chain = ca.chain().to_vec();
    let roots_dir = data.join("ct-roots");
    std::fs::create_dir_all(&roots_dir)?;
    let mut roots = vec![ca_chain.last().expect("a CA has a root").clone()];
    roots.extend(services::load_certificates_in(&roots_dir)?);
    let listen = |addr: SocketAddr| args.listen(addr);
    // The witness first: the logs are opened with it as theirs; it serves once they are open.
    let witness = match args.no_witness {
        true => None,
        false => {
            let public_url = args.public_url(listen(args.witness_listen))?;
            Some(crate::up_witness::StackWitness::new(
                &format!("{}/witness", public_url.host()),
                stack_keys.load("witness", Algorithm::Ed25519)?,
                local_url(listen(args.witness_listen)),
                public_url.to_string(),
            )?)
        }
    };
    let witnessing = || witness.as_ref().map(|w| w.witnessing()).transpose();
    let ctlog_layout_path = data.join("ctlog-shards.json");
    let ctlog_layout = ctlog::CtShardLayout::load_or_create(&ctlog_layout_path)?;
    let mut ctlog_config = ctlog::CtLogConfig::new(
        "sigstack.local/ctlog",
        stack_keys.load("ctlog", Algorithm::EcdsaP256Sha256)?,
        roots,
    );
    ctlog_config.witnessing = witnessing()?;
    let ctlog_shards = services::open_ctlog_shards(
        store.clone(),
        &stack_keys.loader,
        ctlog_config,
        &ctlog_layout,
        &ctlog_layout_path,
    )
    .await?;
    let ctlog = ctlog_shards.last().expect("the newest CT shard").clone();
    let ctlog_path = ctlog::shard_path(ctlog_layout.generation());
    // The shards that take certificates: the newest, and older ones kept accepting.
    let accepting_ct_shards: Vec<(String, &Arc<ctlog::CtLog>)> = (1..)
        .zip(&ctlog_shards)
        .filter(|(_, shard)| !shard.is_frozen())
        .map(|(generation, shard)| (ctlog::shard_path(generation), shard))
        .collect();
    let rekor_url = args.public_url(listen(args.rekor_listen))?;
    let rekor = rekor_cmd::open_in(
        store.clone(),
        &data,
        &stack_keys,
        &rekor_url,
        (witnessing()?, witnessing()?),
    )
    .await?;
    let witness_vkey = witness.as_ref().map(|w| w.vkey());
    let witness = match witness {
        Some(w) => Some(w.serve(&rekor, &ctlog, &url).await?),
        None => None,
    };
    let tsa = tsa_server::TsaServer::new(tsa_server::load_authority(
        &stack_keys.loader,
        &stack_keys.spec("tsa-key"),
        &keys.join(tsa_server::DEV_CHAIN_FILE),
        true,
        tsa::AuthorityConfig::default(),
    )?)?;

    // The trust documents of exactly these keys and URLs, published through TUF.
    let urls = trust_cmd::Urls {
        fulcio: args.public_url(listen(args.fulcio_listen))?.to_string(),
        ctlog: args.public_url(listen(args.ctlog_listen))?.to_string(),
        rekor: rekor_url.to_string(),
        tsa: args.public_url(listen(args.tsa_listen))?.to_string(),
        oidc: issuer_url.clone(),
    };
    let material = trust_cmd::Material {
        fulcio_chain: ca_chain,
        ctlog_shards: accepting_ct_shards
            .iter()
            .map(|(path, shard)| trust_cmd::CtShardKey {
                path: path.clone(),
                key: shard.public_key_der().to_vec(),
            })
            .collect(),
        rekor_v1_key: rekor.v1_public_key_der().to_vec(),
        rekor_v2_key: rekor.v2_public_key_der().to_vec(),
        rekor_v2_origin: rekor.v2_origin().to_string(),
        rekor_v2_path: rekor.v2_path(),
        tsa_chain: tsa.authority().chain().to_vec(),
        witness_policies: [
            ("rekor-v1", rekor.v1_witness_policy()),
            ("rekor-v2", rekor.v2_witness_policy()),
            ("ctlog", ctlog.witness_policy()),
        ]
        .into_iter()
        .filter_map(|(log, policy)| Some((log.to_owned(), policy?.to_owned())))
        .collect(),
    };
    let root_key = stack_keys.load("tuf-root", Algorithm::EcdsaP256Sha256)?;
    let online = stack_keys.load("tuf-online", Algorithm::EcdsaP256Sha256)?;
    let repo = Arc::new(tuf_repo::Repository::open_or_init(
        &data.join("tuf"),
        &[root_key.as_ref()],
        1,
        online,
        tuf_repo::RepoOptions::default(),
    )?);
    let trust_dir = data.join("trust");
    trust_cmd::publish(&data, &trust_dir, &repo, &urls, &material)?;
    let _refresher = tuf_repo::spawn_refresher(repo.clone());

    servers = servers
        .bind(
            "dev-issuer",
            args.dev_issuer_listen,
            dev_oidc::router(issuer),
        )
        .await?;
    // The CA reaches the CT log in this process directly, not through the public name.
    let ctlog_local = format!("{}{ctlog_path}", local_url(listen(args.ctlog_listen)));
    // Each certificate goes to the accepting shard whose window holds its notAfter.
    let ca_server = fulcio_server::FulcioServer::with_ct_shards(
        fulcio_config,
        ca,
        services::ct_submission_shards(&local_url(listen(args.ctlog_listen)), &ctlog_layout)?,
        fulcio_server::ServerOptions::default(),
    );
    let tuf_metrics = sigstack_http::MetricsRegistry::for_service("tuf");
    // The explorer, too, reads the services in this process on loopback, and verifies with
    // the trusted_root.json just published.
    let explorer = Arc::new(
        explorer::Explorer::new(
            explorer::Upstreams {
                rekor: Some(local_url(listen(args.rekor_listen)).parse()?),
                rekor_v2: Some(local_url(listen(args.rekor_listen)).parse()?),
                ctlog: Some(ctlog_local.parse()?),
                tuf: Some(local_url(listen(args.tuf_listen)).parse()?),
                monitor: None,
            },
            std::time::Duration::from_secs(10),
        )?
        .with_trusted_root(
            std::fs::read(trust_dir.join("trusted_root.json"))
                .context("reading the trusted_root.json just written")?,
        ),
    );
    let (addresses, services): (Vec<_>, Vec<_>) = [
        (
            ("ctlog", args.ctlog_listen),
            (ctlog::shards_router(&ctlog_shards), ctlog.metrics().clone()),
        ),
        (
            ("rekor", args.rekor_listen),
            (rekor::router(rekor.clone()), rekor.metrics().clone()),
        ),
        (
            ("tsa", args.tsa_listen),
            (tsa_server::router(tsa.clone()), tsa.metrics().clone()),
        ),
        (
            ("tuf", args.tuf_listen),
            (
                tuf_repo::router(repo.dir().to_owned(), &tuf_metrics),
                tuf_metrics,
            ),
        ),
        (
            ("fulcio", args.fulcio_listen),
            (
                fulcio_server::router(ca_server.clone()),
                ca_server.metrics().clone(),
            ),
        ),
        (
            ("explorer", args.explorer_listen),
            (
                explorer::router(explorer.clone()),
                explorer.metrics().clone(),
            ),
        ),
    ]
    .into_iter()
    .chain(witness.map(|w| {
        (
            ("witness", args.witness_listen),
            (witness_server::router(w.clone()), w.metrics().clone()),
        )
    }))
    .unzip();
    let (mut servers, routers) = args.metrics.place(servers, services).await?;
    for ((name, addr), router) in addresses.into_iter().zip(routers) {
        servers = servers.bind(name, listen(addr), router).await?;
    }

    let t = trust_dir.display();
    println!(
        "sigstack is up in {:.1}s (data directory {}, store {})",
        started.elapsed().as_secs_f64(),
        data.display(),
        if args.database_url.is_some() {
            "PostgreSQL"
        } else {
            "embedded SQLite"
        }
    );
    println!("  Fulcio CA            {}/api/v2/signingCert", urls.fulcio);
    println!(
        "  CT log               {}{ctlog_path}/ct/v1/get-sth",
        urls.ctlog
    );
    // Older temporal shards still taking certificates for their own windows.
    for (path, _) in accepting_ct_shards.iter().filter(|(p, _)| *p != ctlog_path) {
        println!(
            "  CT log, older shard  {}{path}/ct/v1/get-sth (accepting its notAfter window)",
            urls.ctlog
        );
    }
    println!("  Rekor v1             {}/api/v1/log", urls.rekor);
    println!(
        "  Rekor v2             {}{}/api/v2/checkpoint (origin {})",
        urls.rekor,
        rekor.v2_path(),
        rekor.v2_origin()
    );
    println!("  timestamp authority  {}/api/v1/timestamp", urls.tsa);
    match &witness_vkey {
        Some(vkey) => println!(
            "  witness              {}/add-checkpoint (verifier key {vkey}; cosigned checkpoints at …/checkpoint/witnessed)",
            args.public_url(listen(args.witness_listen))?
        ),
        None => println!("  witness              none (--no-witness)"),
    }
    let tuf_url = args.public_url(listen(args.tuf_listen))?;
    println!("  TUF repository       {tuf_url}/root.json");
    println!(
        "  log explorer         {}/",
        args.public_url(listen(args.explorer_listen))?
    );
    println!("  OIDC issuer          {issuer_url}  (DEVELOPMENT issuer: tokens for any email, loopback only)");
    println!("  signing keys         {}", stack_keys.describe());
    println!(
        "  trust files          {t}/ (trust_config.json, trusted_root.json, root.json, README.txt)"
    );
    println!();
    println!("Next, in another shell:");
    println!("  echo hello > artifact.txt");
    // `sigstack token` looks for the issuer on its default port unless told otherwise.
    let issuer_flag = if issuer_url == DEFAULT_DEV_ISSUER_URL {
        String::new()
    } else {
        format!(" --issuer-url {issuer_url}")
    };
    println!("  TOKEN=$(sigstack token{issuer_flag} alice@example.com)   # or: cargo run --release -p sigstack -- token{issuer_flag} alice@example.com");
    println!("  # sigstore-python (pip install sigstore)");
    println!("  sigstore --trust-config {t}/trust_config.json sign --identity-token \"$TOKEN\" --bundle artifact.sigstore.json artifact.txt");
    println!("  sigstore --trust-config {t}/trust_config.json verify identity --offline --bundle artifact.sigstore.json --cert-identity alice@example.com --cert-oidc-issuer {issuer_url} artifact.txt");
    println!("  # through TUF only:");
    println!(
        "  sigstore --instance {} trust-instance {t}/root.json",
        tuf_url
    );
    println!(
        "  sigstore --instance {} sign --identity-token \"$TOKEN\" artifact.txt",
        tuf_url
    );
    // Both clients install a command named `sigstore`: run sigstore-js's through npx.
    println!("  # sigstore-js's CLI (npm package @sigstore/cli; run through npx, since sigstore-python's command has the same name)");
    println!("  printf '{{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{{\"name\":\"artifact.txt\",\"digest\":{{\"sha256\":\"%s\"}}}}],\"predicateType\":\"https://example.com/demo/v1\",\"predicate\":{{}}}}' \"$(sha256sum artifact.txt | cut -d' ' -f1)\" > statement.json");
    println!("  CI=true SIGSTORE_ID_TOKEN=\"$TOKEN\" npx --yes --package @sigstore/cli@0.8 sigstore attest --fulcio-url {} --rekor-url {} --tsa-server-url {} -o statement.sigstore.json statement.json", urls.fulcio, urls.rekor, urls.tsa);
    println!("  npx --yes --package @sigstore/cli@0.8 sigstore verify --tuf-mirror-url {} --tuf-root-path {t}/root.json --tuf-cache-path ./tuf-cache --certificate-issuer {issuer_url} --certificate-identity-email alice@example.com statement.sigstore.json", tuf_url);
    println!("  # cosign (v2.4+)");
    println!("  cosign sign-blob --trusted-root {t}/trusted_root.json --fulcio-url {} --rekor-url {} --identity-token \"$TOKEN\" --bundle artifact.cosign.json --yes artifact.txt", urls.fulcio, urls.rekor);
    println!("  cosign verify-blob --trusted-root {t}/trusted_root.json --bundle artifact.cosign.json --certificate-identity alice@example.com --certificate-oidc-issuer {issuer_url} artifact.txt");
    println!("press Ctrl-C to stop");
    servers
        .run_until(crate::serve::shutdown_signal(), grace)
        .await?;
    println!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        up: UpArgs,
    }

    fn args(flags: &[&str]) -> UpArgs {
        Cli::try_parse_from(std::iter::once("up").chain(flags.iter().copied()))
            .unwrap()
            .up
    }

    #[test]
    fn only_the_public_host_is_published() {
        let up = args(&[
            "--listen-host",
            "0.0.0.0",
            "--public-host",
            "sigstore.example.org",
        ]);
        let rekor = up.listen(up.rekor_listen);
        assert_eq!(rekor, "0.0.0.0:3000".parse().unwrap());
        assert_eq!(
            up.public_url(rekor).unwrap().to_string(),
            "http://sigstore.example.org:3000"
        );
        assert_eq!(
            up.public_url(up.listen(up.tuf_listen)).unwrap().to_string(),
            "http://sigstore.example.org:8081"
        );
        // The CA in the same process reaches the CT log on loopback.
        assert_eq!(
            local_url(up.listen(up.ctlog_listen)),
            "http://127.0.0.1:6962"
        );
    }

    #[test]
    fn a_witness_runs_unless_told_not_to() {
        let up = args(&[]);
        assert!(!up.no_witness);
        assert_eq!(
            up.witness_listen.to_string(),
            crate::witness_cmd::DEFAULT_LISTEN
        );
        let up = args(&["--no-witness", "--witness-listen", "127.0.0.1:4004"]);
        assert!(up.no_witness);
        assert_eq!(up.witness_listen.port(), 4004);
    }

    #[test]
    fn a_wildcard_address_is_never_published() {
        let up = args(&["--rekor-listen", "0.0.0.0:3000"]);
        let err = up.public_url(up.listen(up.rekor_listen)).unwrap_err();
        assert!(err.to_string().contains("--public-host"), "{err}");
        let up = args(&["--listen-host", "::"]);
        assert!(up.public_url(up.listen(up.fulcio_listen)).is_err());
        let up = args(&["--public-host", "0.0.0.0"]);
        assert!(up.public_url(up.listen(up.fulcio_listen)).is_err());
        // Without either flag, the loopback defaults are published as they are.
        let up = args(&[]);
        assert_eq!(
            up.public_url(up.listen(up.fulcio_listen))
                .unwrap()
                .to_string(),
            "http://127.0.0.1:5555"
        );
        let up = args(&["--public-host", "::1"]);
        assert_eq!(
            up.public_url(up.listen(up.tsa_listen)).unwrap().to_string(),
            "http://[::1]:3003"
        );
    }
}
