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
