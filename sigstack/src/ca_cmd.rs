//! `sigstack ca`: create the certificate authorities a deployment needs before its services
//! start (the compose `init` service runs these): the Fulcio CA root and the TSA chain.
//!
//! Both are idempotent: an existing key is never replaced, and an existing chain is only
//! checked against its key, so running them at every start is safe.

use anyhow::Context;
use sigstack_keys::Algorithm;
use std::path::{Path, PathBuf};

/// Flags of `sigstack ca`.
#[derive(clap::Args)]
pub(crate) struct CaArgs {
    #[command(subcommand)]
    command: CaCommand,
}

#[derive(clap::Subcommand)]
enum CaCommand {
    /// Create the Fulcio CA: its key (if missing; a `pkcs11:` URI names a key in a token) and,
    /// if the chain file is missing, a self-signed root certificate for it, or with
    /// --root-key an intermediate certificate for it under a new root for the root key (both
    /// valid for 10 years). An existing chain is checked against the key and kept. Feed the
    /// results to `sigstack fulcio --ca-key --ca-chain` and the chain to `sigstack ctlog
    /// --root-cert`.
    Init {
        /// The CA private key (PKCS#8 PEM); created owner-only if missing.
        #[arg(long, env = "SIGSTACK_FULCIO_CA_KEY")]
        key: PathBuf,
        /// The certificate chain (PEM) to write: the self-signed root.
        #[arg(long, env = "SIGSTACK_FULCIO_CA_CHAIN")]
        chain: PathBuf,
        /// Subject common name of the root (`CN=<name>, O=sigstack`).
        #[arg(long, default_value = "sigstack CA")]
        common_name: String,
        /// Algorithm of a newly created key: ecdsa-p256 or ecdsa-p384.
        #[arg(long, default_value = "ecdsa-p256")]
        algorithm: String,
        /// Make the CA key an intermediate under a root for this key (a file or a `pkcs11:`
        /// URI; it must exist), which then stays offline: only the intermediate's key signs.
        #[arg(long)]
        root_key: Option<PathBuf>,
    },
    /// Create the TSA key (if missing, ECDSA P-256) and a certificate chain for it (if the
    /// chain file is missing): a timestamping certificate under a self-signed root whose key
    /// is used once and discarded. An existing chain is checked against the key and kept.
    /// For production, prefer a chain issued by your own PKI (critical EKU timeStamping).
    InitTsa {
        /// The TSA private key (PKCS#8 PEM); created owner-only if missing.
        #[arg(long, env = "SIGSTACK_TSA_KEY")]
        key: PathBuf,
        /// The certificate chain (PEM, TSA certificate first) to write.
        #[arg(long, env = "SIGSTACK_TSA_CERT_CHAIN")]
        chain: PathBuf,
    },
}

/// Runs `sigstack ca …`.
pub(crate) fn run(args: CaArgs) -> anyhow::Result<()> {
    match args.command {
        CaCommand::Init {
            key,
            chain,
            common_name,
            algorithm,
            root_key,
        } => init(&key, &chain, &common_name, &algorithm, root_key.as_deref()),
        CaCommand::InitTsa { key, chain } => init_tsa(&key, &chain),
    }
}

fn init(
    key_path: &Path,
    chain_path: &Path,
    common_name: &str,
    algorithm: &str,
    root_key: Option<&Path>,
) -> anyhow::Result<()> {
    let algorithm: Algorithm = algorithm.parse()?;
    anyhow::ensure!(
        algorithm != Algorithm::Ed25519,
        "--algorithm: the CA key must be ecdsa-p256 or ecdsa-p384"
    );
    let key = crate::keys_cmd::loader()
        .load_or_generate(key_path, algorithm)
        .with_context(|| format!("CA key {}", key_path.display()))?;
    if chain_path.exists() {
        let chain = crate::services::load_certificates(chain_path)?;
        fulcio::CertificateAuthority::new(key, chain).with_context(|| {
            format!(
                "{} does not match {}",
                chain_path.display(),
                key_path.display()
            )
        })?;
        println!(
            "CA chain {} exists and matches {}; kept",
            chain_path.display(),
            key_path.display()
        );
        return Ok(());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let ca = match root_key {
        None => fulcio::CertificateAuthority::self_signed(key, common_name, now - 60)?,
        Some(root_path) => {
            let root = crate::keys_cmd::loader()
                .load(root_path)
                .with_context(|| format!("root key {}", root_path.display()))?;
            fulcio::CertificateAuthority::with_intermediate(
                root.as_ref(),
                key,
                common_name,
                now - 60,
            )?
        }
    };
    let mut pem = String::new();
    for cert in ca.chain() {
        pem.push_str(
            &der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, cert)
                .map_err(|e| anyhow::anyhow!("encoding the CA chain: {e}"))?,
        );
    }
    crate::write_public_file(chain_path, pem.as_bytes())?;
    println!(
        "created the CA chain {} (CN={common_name}{}) for {}",
        chain_path.display(),
        if root_key.is_some() {
            ": an intermediate under a root for the root key"
        } else {
            ": a self-signed root"
        },
        key_path.display()
    );
    Ok(())
}

fn init_tsa(key_path: &Path, chain_path: &Path) -> anyhow::Result<()> {
    let had_chain = chain_path.exists();
    anyhow::ensure!(
        !had_chain
            || key_path.exists()
            || key_path
                .to_str()
                .is_some_and(sigstack_keys::Pkcs11Uri::is_uri),
        "{} exists but its key {} does not",
        chain_path.display(),
        key_path.display()
    );
    // With `dev`, a missing chain is made for the key (a missing key file is made first); an
    // existing chain must fit the key.
    tsa_server::load_authority(
        &crate::keys_cmd::loader(),
        key_path,
        chain_path,
        true,
        tsa::AuthorityConfig::default(),
    )
    .with_context(|| {
        format!(
            "the TSA key {} and chain {}",
            key_path.display(),
            chain_path.display()
        )
    })?;
    if had_chain {
        println!(
            "TSA chain {} exists and matches {}; kept",
            chain_path.display(),
            key_path.display()
        );
    } else {
        println!(
            "created the TSA chain {} for {}",
            chain_path.display(),
            key_path.display()
        );
    }
    Ok(())
}
