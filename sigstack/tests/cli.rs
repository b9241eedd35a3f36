//! The binary's command line as a user meets it. Having an integration test also makes
//! `cargo test` build `target/debug/sigstack`, which the interop suites then run.

use std::process::Command;

fn sigstack(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sigstack"))
        .args(args)
        .output()
        .expect("run sigstack");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn version_names_the_release_and_the_revision() {
    let (ok, text) = sigstack(&["--version"]);
    assert!(ok, "{text}");
    assert!(
        text.starts_with(&format!("sigstack {} (git ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
}

#[test]
fn every_service_has_its_subcommand() {
    let (ok, help) = sigstack(&["--help"]);
    assert!(ok, "{help}");
    for command in [
        "up", "ctlog", "fulcio", "rekor", "tsa", "tuf", "token", "trust", "ca", "migrate",
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{command} "))),
            "{command} missing from --help:\n{help}"
        );
    }
    let (ok, up) = sigstack(&["up", "--help"]);
    assert!(ok, "{up}");
    assert!(!up.contains("so far"), "stale help text:\n{up}");
}

/// A `sigstack rekor` process on SQLite in `dir`, serving on a free loopback port, with its log
/// lines (JSON) collected from standard output.
struct RekorProcess {
    child: std::process::Child,
    url: String,
    stdout: std::thread::JoinHandle<String>,
}

impl RekorProcess {
    fn start(dir: &std::path::Path) -> Self {
        use std::io::Read as _;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let listen = format!("127.0.0.1:{port}");
        // Its keys are made encrypted, under a password from a file, as in production.
        let password = dir.join("key-password");
        std::fs::write(&password, "a test password\n").unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_sigstack"))
            .arg("--key-password-file")
            .arg(&password)
            .args([
                "--log-format",
                "json",
                "--shutdown-grace",
                "20s",
                "rekor",
                "--listen",
                &listen,
                "--database-url",
                &format!("sqlite://{}", path("rekor.sqlite")),
                "--v1-key",
                &path("v1.pem"),
                "--v2-key",
                &path("v2.pem"),
                "--shards",
                &path("shards.json"),
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start sigstack rekor");
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        });
        let url = format!("http://{listen}");
        for _ in 0..200 {
            if std::net::TcpStream::connect(&listen).is_ok() {
                return RekorProcess { child, url, stdout };
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("sigstack rekor did not start listening on {listen}");
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit and returns its exit status and log lines.
    fn wait(mut self) -> (std::process::ExitStatus, String) {
        let status = self.child.wait().unwrap();
        (status, self.stdout.join().unwrap())
    }
}

/// A hashedrekord v0.0.1 entry for `artifact`, signed by `key`.
fn hashedrekord(key: &sigstack_keys::SoftwareKey, artifact: &[u8]) -> serde_json::Value {
    use base64::Engine as _;
    use sha2::Digest as _;
    use sigstack_keys::Signer as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        b64(key.public_key_der())
    );
    serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {
                "content": b64(&key.sign(artifact).unwrap()),
                "publicKey": {"content": b64(pem.as_bytes())},
            },
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(sha2::Sha256::digest(artifact))}},
        },
    })
}

#[test]
fn sigterm_under_write_load_answers_every_request_in_flight_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rekor = RekorProcess::start(dir.path());
    let key = sigstack_keys::SoftwareKey::generate(sigstack_keys::Algorithm::EcdsaP256Sha256);
    let entries: Vec<serde_json::Value> = (0..2000)
        .map(|i| hashedrekord(&key, format!("artifact {i}").as_bytes()))
        .collect();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (acknowledged, refused_by_status) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let url = format!("{}/api/v1/log/entries", rekor.url);
        let mut tasks = tokio::task::JoinSet::new();
        // 32 writers, each sending its share of the entries one after another on a keep-alive
        // connection; the signal arrives while they are busy.
        for writer in 0..32 {
            let mine: Vec<_> = entries.iter().skip(writer).step_by(32).cloned().collect();
            let (client, url) = (client.clone(), url.clone());
            tasks.spawn(async move {
                let mut acknowledged = Vec::new();
                let mut refused = Vec::new();
                for entry in mine {
                    match client.post(&url).json(&entry).send().await {
                        Ok(response) if response.status() == 201 => {
                            let body: serde_json::Value = response.json().await.unwrap();
                            let uuid = body.as_object().unwrap().keys().next().unwrap().clone();
                            acknowledged.push(uuid);
                        }
                        Ok(response) => refused.push(response.status().as_u16()),
                        // After the listener closed: the request never reached the service.
                        Err(_) => break,
                    }
                }
                (acknowledged, refused)
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        rekor.terminate();
        let mut acknowledged = Vec::new();
        let mut refused = Vec::new();
        while let Some(done) = tasks.join_next().await {
            let (a, r) = done.unwrap();
            acknowledged.extend(a);
            refused.extend(r);
        }
        (acknowledged, refused)
    });
    let (status, log) = rekor.wait();
    assert!(status.success(), "exit status {status}; log:\n{log}");
    assert!(
        refused_by_status.is_empty(),
        "answers other than 201: {refused_by_status:?}"
    );
    assert!(
        !acknowledged.is_empty(),
        "no entry was written before the signal"
    );
    assert!(
        acknowledged.len() < entries.len(),
        "the signal came after the load"
    );

    // Every log line is a JSON object; the drain was logged.
    for line in log.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            value["timestamp"].is_string() && value["level"].is_string(),
            "{line}"
        );
    }
    assert!(log.contains("finishing the requests in flight"), "{log}");

    // Restarted on the same database, every acknowledged entry is there.
    let rekor = RekorProcess::start(dir.path());
    runtime.block_on(async {
        let client = reqwest::Client::new();
        for uuid in &acknowledged {
            let response = client
                .get(format!("{}/api/v1/log/entries/{uuid}", rekor.url))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{uuid}");
        }
    });
    rekor.terminate();
    let (status, _) = rekor.wait();
    assert!(status.success());
}

#[test]
fn bad_configuration_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    // The CT log without a root it accepts: no database, no key.
    let (ok, text) = sigstack(&[
        "ctlog",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        &format!("sqlite://{}", path("ct.sqlite")),
        "--key",
        &path("ct.pem"),
    ]);
    assert!(!ok && text.contains("--root-cert"), "{text}");
    // The TSA without a chain (and without --dev): no key.
    let (ok, text) = sigstack(&["tsa", "--listen", "127.0.0.1:0", "--key", &path("tsa.pem")]);
    assert!(!ok && text.contains("--dev"), "{text}");
    // A listener certificate that does not load, on every service: no database, no key.
    let inputs = tempfile::tempdir().unwrap();
    let input = |name: &str, contents: &str| {
        let p = inputs.path().join(name);
        std::fs::write(&p, contents).unwrap();
        p.to_string_lossy().into_owned()
    };
    let (cert, key) = (
        input("tls.crt", "not a certificate\n"),
        input("tls.key", ""),
    );
    let db = format!("sqlite://{}", path("db.sqlite"));
    let (v1, v2, shards) = (path("v1.pem"), path("v2.pem"), path("shards.json"));
    let (ct_key, tsa_key, issuer_key) = (path("ct.pem"), path("tsa.pem"), path("issuer.pem"));
    let (config, ca_key, ca_chain, repo) = (
        path("fulcio.yaml"),
        path("ca.pem"),
        path("chain.pem"),
        path("repo"),
    );
    for service in [
        vec![
            "ctlog",
            "--database-url",
            &db,
            "--key",
            &ct_key,
            "--root-cert",
            &cert,
        ],
        vec![
            "rekor",
            "--database-url",
            &db,
            "--v1-key",
            &v1,
            "--v2-key",
            &v2,
            "--shards",
            &shards,
        ],
        vec!["tsa", "--key", &tsa_key, "--dev"],
        vec![
            "fulcio",
            "--config",
            &config,
            "--ca-key",
            &ca_key,
            "--ca-chain",
            &ca_chain,
        ],
        vec!["tuf", "serve", "--repo", &repo],
        vec!["dev-issuer", "--key", &issuer_key],
    ] {
        let mut args = service.clone();
        args.extend([
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ]);
        let (ok, text) = sigstack(&args);
        assert!(
            !ok && text.contains(&format!(
                "Error: --tls-cert {cert}: no PEM certificate in it"
            )),
            "{service:?}: {text}"
        );
    }
    // Fulcio's outbound CA file that holds no certificate.
    let (ok, text) = sigstack(&[
        "fulcio",
        "--config",
        &config,
        "--ca-key",
        &ca_key,
        "--ca-chain",
        &ca_chain,
        "--https-ca-file",
        &cert,
    ]);
    assert!(
        !ok && text.contains(&format!("--https-ca-file {cert}"))
            && text.contains("no PEM certificate"),
        "{text}"
    );
    // `up` with read replicas of its embedded SQLite file: no data directory.
    let (ok, text) = sigstack(&[
        "up",
        "--data-dir",
        &path("up"),
        "--read-database-url",
        "postgres://sigstack@127.0.0.1:1/sigstack",
    ]);
    assert!(
        !ok && text.contains("--read-database-url needs a PostgreSQL --database-url"),
        "{text}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "files written: {left:?}");
}

#[test]
fn production_keys_are_encrypted_or_refused_and_bad_ones_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let password = path("password");
    std::fs::write(&password, "correct horse battery staple\n").unwrap();
    let wrong = path("wrong");
    std::fs::write(&wrong, "tr0ub4dor\n").unwrap();

    // No password and no --insecure-plaintext-key: a production key file is not written.
    let (ok, text) = sigstack(&["keys", "generate", &path("k.pem")]);
    assert!(!ok && text.contains("plaintext"), "{text}");
    assert!(!dir.path().join("k.pem").exists());
    // With a password it is written encrypted, and reads back only with that password.
    let (ok, text) = sigstack(&[
        "--key-password-file",
        &password,
        "keys",
        "generate",
        &path("k.pem"),
    ]);
    assert!(ok, "{text}");
    let pem = std::fs::read_to_string(path("k.pem")).unwrap();
    assert!(
        pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{pem}"
    );
    let (ok, public) = sigstack(&[
        "--key-password-file",
        &password,
        "keys",
        "public",
        &path("k.pem"),
    ]);
    assert!(
        ok && public.contains("-----BEGIN PUBLIC KEY-----"),
        "{public}"
    );

    // The CT log, with a CA root to accept (made for the test with a plaintext key).
    let (ok, text) = sigstack(&[
        "--insecure-plaintext-key",
        "ca",
        "init",
        "--key",
        &path("ca.pem"),
        "--chain",
        &path("chain.pem"),
    ]);
    assert!(ok, "{text}");
    let ctlog = |extra: &[&str], key: &str| {
        let db = format!("sqlite://{}", path("ct.sqlite"));
        let mut args: Vec<&str> = extra.to_vec();
        args.extend([
            "ctlog",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &db,
            "--root-cert",
        ]);
        let chain = path("chain.pem");
        args.push(&chain);
        args.extend(["--key", key]);
        sigstack(&args)
    };
    // A wrong password, a plaintext key without the flag: one line each, and no database.
    let (ok, text) = ctlog(&["--key-password-file", &wrong], &path("k.pem"));
    assert!(!ok && text.contains("wrong password"), "{text}");
    let (ok, text) = ctlog(&[], &path("ca.pem"));
    assert!(
        !ok && text.contains("plaintext private key") && text.contains("--insecure-plaintext-key"),
        "{text}"
    );
    let (ok, text) = ctlog(&[], &path("k.pem"));
    assert!(!ok && text.contains("no password"), "{text}");
    assert!(!dir.path().join("ct.sqlite").exists(), "nothing written");

    // A key of the wrong type, for the CT log and for the TSA: refused, nothing written.
    let (ok, text) = sigstack(&[
        "--key-password-file",
        &password,
        "keys",
        "generate",
        &path("ed.pem"),
        "--algorithm",
        "ed25519",
    ]);
    assert!(ok, "{text}");
    let (ok, text) = ctlog(&["--key-password-file", &password], &path("ed.pem"));
    assert!(!ok && text.contains("must be ECDSA P-256"), "{text}");
    assert!(!dir.path().join("ct.sqlite").exists(), "nothing written");
    let (ok, text) = sigstack(&[
        "--key-password-file",
        &password,
        "tsa",
        "--listen",
        "127.0.0.1:0",
        "--dev",
        "--key",
        &path("ed.pem"),
    ]);
    assert!(!ok && text.contains("a TSA key is ECDSA"), "{text}");
    assert!(
        !dir.path().join("tsa-chain.pem").exists(),
        "no chain made for it"
    );
    let (ok, text) = sigstack(&[
        "--key-password-file",
        &password,
        "rekor",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        &format!("sqlite://{}", path("rekor.sqlite")),
        "--v1-key",
        &path("ed.pem"),
        "--v2-key",
        &path("v2.pem"),
        "--shards",
        &path("shards.json"),
    ]);
    assert!(!ok && text.contains("must be ecdsa-p256"), "{text}");
    for untouched in ["rekor.sqlite", "v2.pem", "shards.json"] {
        assert!(!dir.path().join(untouched).exists(), "{untouched} written");
    }

    // A plaintext key encrypted in place then loads under the password.
    let (ok, text) = sigstack(&[
        "--key-password-file",
        &password,
        "keys",
        "encrypt",
        &path("ca.pem"),
    ]);
    assert!(ok, "{text}");
    let (ok, public) = sigstack(&[
        "--key-password-file",
        &password,
        "keys",
        "public",
        &path("ca.pem"),
    ]);
    assert!(ok, "{public}");
    let (ok, text) = sigstack(&[
        "--key-password-file",
        &password,
        "keys",
        "encrypt",
        &path("ca.pem"),
    ]);
    assert!(!ok && text.contains("encrypted already"), "{text}");
}

/// The TUF root ceremony with each root key in its own PKCS#11 token (SoftHSM2, a token
/// directory made here): keys generated inside, public keys exported, root v1 staged with
/// threshold 2, signed from each token, published, and verifying.
#[test]
fn a_threshold_root_is_signed_across_two_tokens_and_a_ca_root_stays_in_one() {
    let Some(module) = sigstack_keys::pkcs11::softhsm2_module() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "SoftHSM2 is not installed (scripts/test.sh installs it)"
        );
        eprintln!("SoftHSM2 is not installed: the root ceremony with tokens is not tried");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    std::fs::create_dir(dir.path().join("tokens")).unwrap();
    let conf = path("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            path("tokens")
        ),
    )
    .unwrap();
    std::fs::write(path("pin"), "1234\n").unwrap();
    std::fs::write(path("password"), "online key password\n").unwrap();
    // Every command of the ceremony sees the test's token directory and key password.
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sigstack"))
            .env("SOFTHSM2_CONF", &conf)
            .env("SIGSTACK_KEY_PASSWORD_FILE", path("password"))
            .args(args)
            .output()
            .expect("run sigstack");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let uri = |token: &str| {
        format!(
            "pkcs11:token={token};object=tuf-root?module-path={}&pin-source=file:{}",
            module.display(),
            path("pin")
        )
    };
    for holder in ["alice", "bob"] {
        let out = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args([
                "--init-token",
                "--free",
                "--label",
                holder,
                "--pin",
                "1234",
                "--so-pin",
                "5678",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (ok, text) = run(&[
            "keys",
            "generate",
            &uri(holder),
            "--algorithm",
            "ecdsa-p256",
        ]);
        assert!(ok, "{text}");
        let (ok, public) = run(&["keys", "public", &uri(holder)]);
        assert!(ok, "{public}");
        let pem = &public[public.find("-----BEGIN").unwrap()
            ..public.find("-----END PUBLIC KEY-----").unwrap() + 24];
        std::fs::write(path(&format!("{holder}.pub")), format!("{pem}\n")).unwrap();
    }
    let repo = path("repo");
    let (ok, text) = run(&[
        "tuf",
        "init",
        "--repo",
        &repo,
        "--root-key",
        &path("alice.pub"),
        "--root-key",
        &path("bob.pub"),
        "--threshold",
        "2",
        "--online-key",
        &path("online.pem"),
    ]);
    assert!(ok && text.contains("staged"), "{text}");
    // One signature is not enough to publish.
    let (ok, text) = run(&["tuf", "sign-root", "--repo", &repo, "--key", &uri("alice")]);
    assert!(ok, "{text}");
    let (ok, text) = run(&["tuf", "publish", "--repo", &repo]);
    assert!(!ok, "published with one of two signatures: {text}");
    let (ok, text) = run(&["tuf", "sign-root", "--repo", &repo, "--key", &uri("bob")]);
    assert!(ok, "{text}");
    let (ok, text) = run(&[
        "tuf",
        "publish",
        "--repo",
        &repo,
        "--online-key",
        &path("online.pem"),
    ]);
    assert!(ok, "{text}");
    let (ok, text) = run(&["tuf", "status", "--repo", &repo]);
    assert!(ok, "{text}");
    assert!(
        std::fs::read_to_string(path("online.pem"))
            .unwrap()
            .contains("ENCRYPTED PRIVATE KEY"),
        "the online key is made encrypted under the key password"
    );

    // The CA as an intermediate under a root whose key stays in a token.
    let ca_root = uri("alice").replace("object=tuf-root", "object=ca-root");
    let (ok, text) = run(&["keys", "generate", &ca_root]);
    assert!(ok, "{text}");
    let (ok, text) = run(&[
        "ca",
        "init",
        "--key",
        &path("ca.pem"),
        "--chain",
        &path("chain.pem"),
        "--root-key",
        &ca_root,
    ]);
    assert!(ok && text.contains("intermediate"), "{text}");
    let chain = std::fs::read_to_string(path("chain.pem")).unwrap();
    assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2, "{chain}");
    // Run again, it checks the chain against the key and keeps it.
    let (ok, text) = run(&[
        "ca",
        "init",
        "--key",
        &path("ca.pem"),
        "--chain",
        &path("chain.pem"),
    ]);
    assert!(ok && text.contains("kept"), "{text}");
}

/// A rotation whose stamp (the time, to the second) an earlier retirement already used retires
/// under the next free one, never over the earlier key: `rename` would replace it.
#[test]
fn a_rotation_never_retires_a_key_over_an_earlier_retired_one() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path();
    std::fs::write(keys.join("tsa-key.pem"), "the key being retired").unwrap();
    std::fs::write(keys.join("tsa-chain.pem"), "its chain").unwrap();
    // Retired keys under every stamp the command can take in the next minute, as a rotation
    // in the same second leaves them.
    let retired = keys.join("retired");
    std::fs::create_dir_all(&retired).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let stamps: Vec<String> = (now - 1..now + 60)
        .map(|s| {
            trust::Timestamp::from_unix_seconds(s)
                .to_string()
                .replace(['-', ':'], "")
        })
        .collect();
    for stamp in &stamps {
        for name in ["tsa-key.pem", "tsa-chain.pem"] {
            std::fs::write(retired.join(format!("{stamp}-{name}")), stamp).unwrap();
        }
    }

    let (ok, out) = sigstack(&["rotate", "tsa", "--keys-dir", keys.to_str().unwrap()]);
    assert!(ok, "{out}");
    // The earlier retired keys are untouched; this one is under `<stamp>-2`.
    for stamp in &stamps {
        for name in ["tsa-key.pem", "tsa-chain.pem"] {
            let earlier = std::fs::read_to_string(retired.join(format!("{stamp}-{name}")));
            assert_eq!(earlier.unwrap(), *stamp, "{out}");
        }
    }
    let moved: Vec<String> = stamps
        .iter()
        .map(|stamp| retired.join(format!("{stamp}-2-tsa-key.pem")))
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .collect();
    assert_eq!(moved, ["the key being retired"], "{out}");
    assert!(!keys.join("tsa-key.pem").exists(), "{out}");
}
