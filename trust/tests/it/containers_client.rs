//! The real client: containers/image (through skopeo) parses the exported policy.json and applies
//! it. Skipped (with a note) when skopeo is not installed.

use crate::common;

use std::process::Command;

use trust::{export, PolicyIdentity, TrustHistory};

fn skopeo(args: &[&str]) -> Option<(bool, String)> {
    let out = Command::new("skopeo").args(args).output().ok()?;
    Some((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

#[test]
fn skopeo_accepts_the_exported_policy() {
    if skopeo(&["--version"]).is_none() {
        eprintln!("SKIPPED: skopeo not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("trust");
    let h = TrustHistory::from_instance(&common::instance(), std::time::SystemTime::now());
    let id = PolicyIdentity::new("dev@example.com", "https://issuer.example");
    export(&out, &h, Some(&id)).unwrap();
    let policy = out.join("policy.json");
    let policy = policy.to_str().unwrap();
    let dst = format!("dir:{}", dir.path().join("dst").display());

    // Something outside the docker: scope meets the default: reject. Reaching that verdict
    // means containers/image parsed the whole policy (it rejects unknown or malformed fields).
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let (ok, text) = skopeo(&[
        "--policy",
        policy,
        "copy",
        &format!("oci:{}", src.display()),
        &dst,
    ])
    .unwrap();
    if text.contains("Unknown key") && text.contains("fulcio") {
        // containers/image before 5.24 (e.g. Debian 12's skopeo 1.9) has no Fulcio support.
        eprintln!("SKIPPED: this skopeo's containers/image predates `fulcio`: {text}");
        return;
    }
    assert!(!ok, "{text}");
    assert!(text.contains("rejected by policy"), "{text}");
}
