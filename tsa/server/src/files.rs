//! Key and chain files: loading an operator's TSA key and chain, and creating (once) a
//! development chain that restarts reuse.

use sigstack_keys::files::{write_atomically, FileAccess};
use sigstack_keys::{Algorithm, KeyError, KeyLoader, Signer, SoftwareKey};
use std::path::{Path, PathBuf};
use tsa::{
    AuthorityConfig, AuthorityError, CertError, CertificateParams, TimestampAuthority,
    DEV_CERT_LIFETIME_SECS,
};

/// Why the authority's key and chain could not be loaded or made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityFilesError {
    /// The key file could not be read, parsed or created.
    #[error("loading the TSA key {}: {source}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// What went wrong.
        source: KeyError,
    },
    /// The key is not an ECDSA key.
    #[error("the TSA key {} is {got}: a TSA key is ECDSA P-256 or P-384", path.display())]
    WrongKeyType {
        /// The key file (or URI).
        path: PathBuf,
        /// Its algorithm.
        got: &'static str,
    },
    /// The chain file could not be read or written.
    #[error("{} the certificate chain {}: {source}", if *writing { "writing" } else { "reading" }, path.display())]
    ChainFile {
        /// The chain file.
        path: PathBuf,
        /// Whether it was being written (else read).
        writing: bool,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The chain file holds no usable chain, or a development chain could not be made.
    #[error("the certificate chain {}: {source}", path.display())]
    Chain {
        /// The chain file.
        path: PathBuf,
        /// What is wrong with it.
        source: CertError,
    },
    /// No chain file, and no development chain asked for.
    #[error("the TSA certificate chain {} does not exist (pass an existing PEM chain, or --dev to generate a development one)", path.display())]
    MissingChain {
        /// The chain file expected.
        path: PathBuf,
    },
    /// The chain does not belong to the key (or is no timestamping chain).
    #[error("the chain {} does not fit the key {}: {source}", chain.display(), key.display())]
    ChainDoesNotFit {
        /// The chain file.
        chain: PathBuf,
        /// The key file.
        key: PathBuf,
        /// Why.
        source: AuthorityError,
    },
}

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
pub fn dev_authority(data_dir: &Path) -> Result<TimestampAuthority, AuthorityFilesError> {
    let keys = data_dir.join("keys");
    load_authority(
        &KeyLoader::development(),
        &keys.join(DEV_KEY_FILE),
        &keys.join(DEV_CHAIN_FILE),
        true,
        AuthorityConfig::default(),
    )
}

/// Loads the TSA key with `loader` (a PEM file, generated ECDSA P-256 and owner-only if
/// missing, or a `pkcs11:` URI) and its chain
/// (PEM, TSA certificate first). If the chain file does not exist and `dev` is set, a
/// development root and TSA certificate are generated for the key and written there;
/// without `dev` a missing chain is an error.
pub fn load_authority(
    loader: &KeyLoader,
    key_path: &Path,
    chain_path: &Path,
    dev: bool,
    config: AuthorityConfig,
) -> Result<TimestampAuthority, AuthorityFilesError> {
    // Refused before anything is written: no key is generated for a chain that cannot be had.
    if !dev && !chain_path.exists() {
        return Err(AuthorityFilesError::MissingChain {
            path: chain_path.to_owned(),
        });
    }
    let key = loader
        .load_or_generate(key_path, Algorithm::EcdsaP256Sha256)
        .map_err(|source| AuthorityFilesError::Key {
            path: key_path.to_owned(),
            source,
        })?;
    // Before any chain is made for it: a TSA signs with ECDSA only (RFC 3161 clients and
    // sigstore's verifiers expect it).
    if !matches!(
        key.algorithm(),
        Algorithm::EcdsaP256Sha256 | Algorithm::EcdsaP384Sha384
    ) {
        return Err(AuthorityFilesError::WrongKeyType {
            path: key_path.to_owned(),
            got: key.algorithm().name(),
        });
    }
    let chain_file = |writing: bool| {
        move |source| AuthorityFilesError::ChainFile {
            path: chain_path.to_owned(),
            writing,
            source,
        }
    };
    let bad_chain = |source| AuthorityFilesError::Chain {
        path: chain_path.to_owned(),
        source,
    };
    let chain = if chain_path.exists() {
        let pem = std::fs::read_to_string(chain_path).map_err(chain_file(false))?;
        tsa::chain_from_pem(&pem).map_err(bad_chain)?
    } else if dev {
        let chain = dev_chain(key.as_ref()).map_err(bad_chain)?;
        let pem = tsa::chain_to_pem(&chain).map_err(bad_chain)?;
        write_atomically(chain_path, pem.as_bytes(), FileAccess::Default)
            .map_err(chain_file(true))?;
        tracing::warn!(
            chain = %chain_path.display(),
            key = %key_path.display(),
            "generated a DEVELOPMENT TSA root and certificate; clients must be given this chain to trust"
        );
        chain
    } else {
        // Checked above; the file went away since.
        return Err(AuthorityFilesError::MissingChain {
            path: chain_path.to_owned(),
        });
    };
    TimestampAuthority::new(key, chain, config).map_err(|source| {
        AuthorityFilesError::ChainDoesNotFit {
            chain: chain_path.to_owned(),
            key: key_path.to_owned(),
            source,
        }
    })
}

/// A development root (fresh P-256 key, dropped afterwards) and a timestamping certificate for
/// `key`, both valid for 10 years from a minute ago.
fn dev_chain(key: &dyn Signer) -> Result<Vec<Vec<u8>>, CertError> {
    use rand::RngCore;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
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
