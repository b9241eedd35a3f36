//! Keys in a real PKCS#11 token: SoftHSM2 (Debian package `softhsm2`, which scripts/test.sh
//! installs when missing) with a token directory made for this run.
//!
//! One test function, run in a child process of this test binary whose environment names the
//! token directory: SoftHSM2 reads `SOFTHSM2_CONF` when the module is initialised (once per
//! process), and the workspace forbids the `unsafe` an in-process `set_var` would need.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use sigstack_keys::{check_signer, Algorithm, KeyError, KeyLoader, Pkcs11Key, PublicKey, Signer};

const PIN: &str = "1234";

/// SoftHSM2's module, or `None` where it is not installed (an error under CI, which installs
/// it: the token tests never silently skip there).
fn module() -> Option<&'static Path> {
    let found = sigstack_keys::pkcs11::softhsm2_module();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "SoftHSM2 is not installed (scripts/test.sh installs the softhsm2 package)"
        );
        eprintln!(
            "SoftHSM2 is not installed: the PKCS#11 tests do not run (apt-get install softhsm2)"
        );
    }
    found
}

/// A token directory and configuration for this run, with one initialised token `label`.
fn token_dir(label: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let out = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--init-token",
            "--free",
            "--label",
            label,
            "--pin",
            PIN,
            "--so-pin",
            "5678",
        ])
        .output()
        .expect("softhsm2-util runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, conf)
}

fn uri(module: &Path, token: &str, object: &str, pin: &str) -> String {
    format!(
        "pkcs11:token={token};object={object}?module-path={}&pin-value={pin}",
        module.display()
    )
}

fn err(result: Result<Arc<dyn Signer>, KeyError>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

const CHILD: &str = "SIGSTACK_SOFTHSM_TEST_DIR";

#[test]
fn keys_in_softhsm2_sign_concurrently_and_bad_configuration_is_named() {
    let Some(module) = module() else { return };
    let Some(dir) = std::env::var_os(CHILD).map(PathBuf::from) else {
        let (dir, conf) = token_dir("sigstack");
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "keys_in_softhsm2_sign_concurrently_and_bad_configuration_is_named",
                "--exact",
                "--nocapture",
            ])
            .env("SOFTHSM2_CONF", &conf)
            .env(CHILD, dir.path())
            .output()
            .unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "the SoftHSM2 checks failed (above)");
        return;
    };
    let loader = KeyLoader::development();

    for (object, algorithm) in [
        ("p256", Algorithm::EcdsaP256Sha256),
        ("p384", Algorithm::EcdsaP384Sha384),
        ("ed25519", Algorithm::Ed25519),
    ] {
        let spec = uri(module, "sigstack", object, PIN);
        let made = Pkcs11Key::generate(&spec.parse().unwrap(), algorithm).unwrap();
        assert_eq!(made.algorithm(), algorithm);
        // Loaded back by URI, as a service does: same key, signatures that verify.
        let key = loader.load(Path::new(&spec)).unwrap();
        assert_eq!(key.public_key_der(), made.public_key_der());
        check_signer(key.as_ref()).unwrap();
        let public = PublicKey::from_spki_der(key.public_key_der()).unwrap();
        // Concurrent signing over the session pool.
        std::thread::scope(|s| {
            for t in 0..16 {
                let (key, public) = (&key, &public);
                s.spawn(move || {
                    for i in 0..20 {
                        let msg = format!("{object} thread {t} message {i}");
                        let sig = key.sign(msg.as_bytes()).unwrap();
                        public.verify(msg.as_bytes(), &sig).unwrap();
                    }
                });
            }
        });
        // Generating over an existing key is refused, not a second key.
        let again = Pkcs11Key::generate(&spec.parse().unwrap(), algorithm).unwrap_err();
        assert!(again.to_string().contains("exists already"), "{again}");
    }

    // Each misconfiguration is one error naming what failed.
    let wrong_pin = err(loader.load(Path::new(&uri(module, "sigstack", "p256", "0000"))));
    assert!(wrong_pin.contains("wrong PIN"), "{wrong_pin}");
    assert!(
        !wrong_pin.contains("0000"),
        "the PIN is never shown: {wrong_pin}"
    );
    let no_token = err(loader.load(Path::new(&uri(module, "absent", "p256", PIN))));
    assert!(no_token.contains("no such token"), "{no_token}");
    let no_object = err(loader.load(Path::new(&uri(module, "sigstack", "absent", PIN))));
    assert!(no_object.contains("no private key object"), "{no_object}");
    let no_module = err(loader.load(Path::new(&uri(
        Path::new("/nonexistent/libpkcs11.so"),
        "sigstack",
        "p256",
        PIN,
    ))));
    assert!(no_module.contains("loading the module"), "{no_module}");
    // A PIN from a file, as production configurations give it.
    let pin_file = dir.join("pin");
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    let by_file = format!(
        "pkcs11:token=sigstack;object=ed25519?module-path={}&pin-source=file:{}",
        module.display(),
        pin_file.display()
    );
    check_signer(loader.load(Path::new(&by_file)).unwrap().as_ref()).unwrap();

    // Relabelling (how `rotate` retires a key in the token) never makes two keys share a
    // label: a second key retired under the first one's label is refused, and both stay usable.
    // Last: a key held open keeps the token logged in, which the wrong-PIN check above needs
    // not to be.
    let p256 = |object: &str| uri(module, "sigstack", object, PIN).parse().unwrap();
    let first = Pkcs11Key::open(&p256("p256")).unwrap();
    Pkcs11Key::relabel(&p256("p256"), "retired-p256").unwrap();
    assert!(!Pkcs11Key::exists(&p256("p256")).unwrap());
    assert!(Pkcs11Key::exists(&p256("retired-p256")).unwrap());
    let second = Pkcs11Key::generate(&p256("p256"), Algorithm::EcdsaP256Sha256).unwrap();
    let refused = Pkcs11Key::relabel(&p256("p256"), "retired-p256").unwrap_err();
    assert!(refused.to_string().contains("exists already"), "{refused}");
    let retired = Pkcs11Key::open(&p256("retired-p256")).unwrap();
    assert_eq!(retired.public_key_der(), first.public_key_der());
    let current = Pkcs11Key::open(&p256("p256")).unwrap();
    assert_eq!(current.public_key_der(), second.public_key_der());
}
