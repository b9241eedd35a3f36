//! The process's key policy (encrypted files, tokens, plaintext only when allowed) and
//! `sigstack keys`: generate a key in a token or an encrypted file, encrypt a plaintext one,
//! print a public key.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use sigstack_keys::{Algorithm, KeyLoader, Pkcs11Key, PlaintextKeys, SoftwareKey};
use zeroize::Zeroizing;

/// The global flags that decide how keys load.
#[derive(clap::Args)]
pub(crate) struct KeyPolicyArgs {
    /// The password of encrypted key files (PKCS#8 `ENCRYPTED PRIVATE KEY`), read from this
    /// file; new key files are written encrypted under it.
    #[arg(long, global = true, env = "SIGSTACK_KEY_PASSWORD_FILE")]
    key_password_file: Option<PathBuf>,
    /// The password itself, for a secret injected as a variable (give it through the
    /// variable: on the command line it shows in the process list).
    #[arg(
        long,
        global = true,
        env = "SIGSTACK_KEY_PASSWORD",
        hide_env_values = true,
        conflicts_with = "key_password_file"
    )]
    key_password: Option<String>,
    /// Accept (and write) plaintext key files in a production command. For trials only: a
    /// production key belongs in a PKCS#11 token or an encrypted file. `sigstack up` always
    /// accepts them (its keys are development keys).
    #[arg(
        long,
        global = true,
        env = "SIGSTACK_INSECURE_PLAINTEXT_KEY",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    insecure_plaintext_key: bool,
}

static LOADER: OnceLock<Arc<KeyLoader>> = OnceLock::new();

/// Sets the process's key policy from the command line, once, before any command runs. A
/// process-wide value on purpose: every key of every service in the process loads under the
/// same operator decision, and passing it through every command's wiring adds nothing.
pub(crate) fn init_policy(args: &KeyPolicyArgs) -> anyhow::Result<()> {
    let password = match (&args.key_password_file, &args.key_password) {
        (Some(path), _) => Some(sigstack_keys::password_from_file(path)?),
        (None, Some(value)) if !value.is_empty() => {
            Some(Zeroizing::new(value.clone().into_bytes()))
        }
        (None, _) => None,
    };
    let plaintext = if args.insecure_plaintext_key {
        PlaintextKeys::Allowed
    } else {
        PlaintextKeys::Refused
    };
    let _ = LOADER.set(Arc::new(KeyLoader::new(password, plaintext)));
    Ok(())
}

/// The key loader of production commands.
pub(crate) fn loader() -> Arc<KeyLoader> {
    LOADER
        .get_or_init(|| Arc::new(KeyLoader::new(None, PlaintextKeys::Refused)))
        .clone()
}

/// The key loader of `sigstack up`: the same password, plaintext allowed.
pub(crate) fn development_loader() -> Arc<KeyLoader> {
    Arc::new(loader().with_plaintext(PlaintextKeys::Allowed))
}

/// Flags of `sigstack keys`.
#[derive(clap::Args)]
pub(crate) struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(clap::Subcommand)]
enum KeysCommand {
    /// Make a new key: in a PKCS#11 token (KEY is a `pkcs11:` URI naming the token, the object
    /// label to give it and optionally an id; the key is made inside, never exported), or in a
    /// file (encrypted under the key password; plaintext only with --insecure-plaintext-key).
    /// Prints the public key.
    Generate {
        /// A `pkcs11:` URI or a file that does not exist yet.
        key: PathBuf,
        /// ecdsa-p256, ecdsa-p384 or ed25519.
        #[arg(long, default_value = "ecdsa-p256")]
        algorithm: Algorithm,
    },
    /// Encrypt a plaintext key file under the key password, in place (the plaintext is
    /// replaced atomically) or into --out.
    Encrypt {
        /// The plaintext PKCS#8 PEM key.
        key: PathBuf,
        /// Where to write the encrypted key (default: over KEY).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the public key (SPKI PEM) of a key file or a `pkcs11:` URI, and its key ID; or,
    /// with --note-name, the C2SP note verifier key of a log signing its checkpoints with it
    /// (what a witness is configured with: docs/witness.md).
    Public {
        /// A key file or a `pkcs11:` URI.
        key: PathBuf,
        /// Print the note verifier key `<name>+<key ID>+<base64>` for this key name instead:
        /// type 0x01 for an Ed25519 key (Rekor v2: the origin), 0x02 for a P-256 key (Rekor v1:
        /// its host name).
        #[arg(long)]
        note_name: Option<String>,
        /// With --note-name: a type 0x05 key, RFC 6962 tree head signatures (the CT log: the
        /// name is its origin).
        #[arg(long, requires = "note_name")]
        rfc6962: bool,
    },
}

fn print_public(signer: &dyn sigstack_keys::Signer) -> anyhow::Result<()> {
    let der = signer.public_key_der();
    let pem = der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, der)
        .map_err(|e| anyhow::anyhow!("PEM encoding: {e}"))?;
    print!("{pem}");
    let id: String = sigstack_keys::key_id(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    eprintln!(
        "{} key, key ID (SHA-256 of the SPKI) {id}",
        signer.algorithm().name()
    );
    Ok(())
}

pub(crate) fn run(args: KeysArgs) -> anyhow::Result<()> {
    let loader = loader();
    match args.command {
        KeysCommand::Generate { key, algorithm } => {
            if let Some(uri) = key.to_str().filter(|k| sigstack_keys::Pkcs11Uri::is_uri(k)) {
                let made = Pkcs11Key::generate(&uri.parse()?, algorithm)?;
                eprintln!("generated in the token: {}", made.uri());
                return print_public(&made);
            }
            anyhow::ensure!(!key.exists(), "{} exists: nothing generated", key.display());
            let made = loader
                .generate_file(&key, algorithm)
                .with_context(|| format!("generating {}", key.display()))?;
            eprintln!(
                "wrote {} ({})",
                key.display(),
                if loader.encrypts() {
                    "encrypted"
                } else {
                    "PLAINTEXT"
                }
            );
            print_public(&made)
        }
        KeysCommand::Encrypt { key, out } => encrypt(&loader, &key, out.as_deref().unwrap_or(&key)),
        KeysCommand::Public {
            key,
            note_name,
            rfc6962,
        } => {
            // Reading a public key needs no policy about plaintext private keys.
            let any = loader.with_plaintext(PlaintextKeys::Allowed);
            let signer = any.load(&key)?;
            match note_name {
                None => print_public(signer.as_ref()),
                Some(name) => {
                    println!("{}", note_vkey(signer.public_key_der(), &name, rfc6962)?);
                    Ok(())
                }
            }
        }
    }
}

/// The C2SP note verifier key of a log signing under `name` with the key `spki_der`.
pub(crate) fn note_vkey(spki_der: &[u8], name: &str, rfc6962: bool) -> anyhow::Result<String> {
    Ok(log_key(spki_der, name, rfc6962)?.to_vkey())
}

/// The key a witness checks a log's checkpoints with: the log signs under `name` with the key
/// `spki_der`, as an RFC 6962 tree head signature (a CT log) or a signed note.
pub(crate) fn log_key(
    spki_der: &[u8],
    name: &str,
    rfc6962: bool,
) -> anyhow::Result<witness::LogKey> {
    Ok(if rfc6962 {
        witness::LogKey::rfc6962(name, spki_der)?
    } else {
        witness::LogKey::from_note_verifier(tlog::note::NoteVerifier::from_spki(name, spki_der)?)
    })
}

fn encrypt(loader: &KeyLoader, key: &Path, out: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        loader.encrypts(),
        "no key password: give --key-password-file or SIGSTACK_KEY_PASSWORD"
    );
    let pem = Zeroizing::new(
        std::fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?,
    );
    anyhow::ensure!(
        !pem.contains("ENCRYPTED PRIVATE KEY"),
        "{} is encrypted already",
        key.display()
    );
    let plain = SoftwareKey::from_pkcs8_pem(&pem).with_context(|| key.display().to_string())?;
    let encrypted = Zeroizing::new(loader.encrypt_pem(&plain)?);
    // Staged beside the target and loaded back before it replaces anything.
    let staged = out.with_file_name(format!(".sigstack-encrypt-{}", std::process::id()));
    sigstack_keys::files::write_atomically(
        &staged,
        encrypted.as_bytes(),
        sigstack_keys::files::FileAccess::OwnerOnly,
    )?;
    if let Err(e) = loader.load(&staged) {
        let _ = std::fs::remove_file(&staged);
        anyhow::bail!("the encrypted key does not load back: {e}");
    }
    std::fs::rename(&staged, out).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("{} encrypted into {}", key.display(), out.display());
    Ok(())
}
