//! Key and chain files: loading an operator's TSA key and chain, and creating (once) a
//! development chain that restarts reuse.

use anyhow::Context;
use sigstack_keys::{Algorithm, Signer, SoftwareKey};
use std::path::Path;
use std::sync::Arc;
use tsa::{AuthorityConfig, CertificateParams, TimestampAuthority, DEV_CERT_LIFETIME_SECS};

/// Where [`dev_authority`] keeps the TSA key, under `<data_dir>/keys/`.
pub const DEV_KEY_FILE: &str = "tsa-key.pem";
/// Where [`dev_authority`] keeps the development chain (TSA certificate, root), under
/// `<data_dir>/keys/`.
pub const DEV_CHAIN_FILE: &str = "tsa-chain.pem";

/// The development authority of `sigstack up`: the key `<data_dir>/keys/tsa-key.pem` (ECDSA
/// P-256, created owner-only if missing) and the chain `<data_dir>/keys/tsa-chain.pem`
/// (created once: a self-signed development root and a timestamping certificate for the key;
/// the root's key is used once and dropped). Restarts reuse both, so timestamps stay
/// verifiable against the same chain. Default policy 1.3.6.1.4.1.57264.2.
pub fn dev_authority(data_dir: &Path) -> anyhow::Result<TimestampAuthority> {
    let keys = data_dir.join("keys");
    load_authority(
        &keys.join(DEV_KEY_FILE),
        &keys.join(DEV_CHAIN_FILE),
        true,
        AuthorityConfig::default(),
    )
}

/// Loads the TSA key (PKCS#8 PEM; generated, ECDSA P-256, owner-only, if missing) and its chain
/// (PEM, TSA certificate first). If the chain file does not exist and `dev` is set, a
/// development root and TSA certificate are generated for the key and written there;
/// without `dev` a missing chain is an error.
pub fn load_authority(
    key_path: &Path,
    chain_path: &Path,
    dev: bool,
    config: AuthorityConfig,
) -> anyhow::Result<TimestampAuthority> {
    let key = Arc::new(
        SoftwareKey::load_or_generate(key_path, Algorithm::EcdsaP256Sha256)
            .with_context(|| format!("loading the TSA key {}", key_path.display()))?,
    );
    let chain = if chain_path.exists() {
        let pem = std::fs::read_to_string(chain_path)
            .with_context(|| format!("reading {}", chain_path.display()))?;
        tsa::chain_from_pem(&pem)
            .with_context(|| format!("reading the certificate chain {}", chain_path.display()))?
    } else if dev {
        let chain = dev_chain(key.as_ref())?;
        write_file_atomically(chain_path, tsa::chain_to_pem(&chain)?.as_bytes())?;
        tracing::warn!(
            chain = %chain_path.display(),
            key = %key_path.display(),
            "generated a DEVELOPMENT TSA root and certificate; clients must be given this chain to trust"
        );
        chain
    } else {
        anyhow::bail!(
            "the TSA certificate chain {} does not exist (pass an existing PEM chain, or --dev to generate a development one)",
            chain_path.display()
        );
    };
    TimestampAuthority::new(key, chain, config).with_context(|| {
        format!(
            "the chain {} does not fit the key {}",
            chain_path.display(),
            key_path.display()
        )
    })
}

/// A development root (fresh P-256 key, dropped afterwards) and a timestamping certificate for
/// `key`, both valid for 10 years from a minute ago.
fn dev_chain(key: &dyn Signer) -> anyhow::Result<Vec<Vec<u8>>> {
    use rand::RngCore;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let root_key = SoftwareKey::generate(Algorithm::EcdsaP256Sha256);
    let params = |cn: &str| {
        let mut serial = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut serial);
        CertificateParams {
            common_name: cn.into(),
            organization: "sigstack".into(),
            not_before: now.saturating_sub(60),
            lifetime_secs: DEV_CERT_LIFETIME_SECS,
            serial,
        }
    };
    let root = params("sigstack development TSA root").self_signed_root(&root_key)?;
    let leaf =
        params("sigstack development TSA").tsa_leaf(key.public_key_der(), &root_key, &root)?;
    Ok(vec![leaf, root])
}

/// Writes `contents` to `path` durably: a temporary file in the same directory, fsync, rename,
/// fsync of the directory. Creates the directory if needed.
pub fn write_file_atomically(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(contents)
        .and_then(|_| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    if let Some(dir) = dir {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", dir.display()))?;
    }
    Ok(())
}
