//! The real client: sigstore-python loads the exported ClientTrustConfig, builds a signing
//! context from it, and reads every key and certificate. Skipped (with a note) when the interop
//! venv is absent; the interop suites create it.

use crate::common;

use std::path::PathBuf;
use std::process::Command;

use trust::{export, CertificateAuthority, TransparencyLog, TrustHistory};

const CHECK: &str = r#"
import sys
from sigstore.models import ClientTrustConfig
from sigstore.sign import SigningContext
from sigstore._internal.trust import KeyringPurpose
from sigstore._internal.rekor.client_v2 import RekorV2Client

config = ClientTrustConfig.from_json(open(sys.argv[1]).read())
ctx = SigningContext.from_trust_config(config)
assert isinstance(ctx._rekor, RekorV2Client), ctx._rekor
root = config.trusted_root
root.rekor_keyring(KeyringPurpose.SIGN)
root.rekor_keyring(KeyringPurpose.VERIFY)
root.ct_keyring(KeyringPurpose.SIGN)
# The retired CA stays trusted for old signatures: two chains of two.
assert len(root.get_fulcio_certs()) == 4
from sigstore.verify import Verifier
Verifier(trusted_root=root)
tsas = root.get_timestamp_authorities()
assert len(tsas) == 1 and len(tsas[0].certificates(allow_expired=False)) == 2
sc = config.signing_config
assert sc.get_fulcio().url == sys.argv[2], sc.get_fulcio().url
assert [t.url for t in sc.get_tsas()] == [sys.argv[3]]
assert sc.get_oidc_url() == sys.argv[4]

# Forcing Rekor v1 (sigstore --rekor-version 1) also works.
from sigstore.models import SigningConfig
v1 = SigningConfig(config._inner.signing_config, tlog_version=1)
assert v1.get_tlogs()[0].url.startswith(sys.argv[5]), v1.get_tlogs()[0].url
print("ok")
"#;

#[test]
fn sigstore_python_loads_the_exported_trust_config() {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../.cache/interop/venv-sigstore/bin/python");
    if !python.exists() {
        eprintln!(
            "SKIPPED: {} absent (the interop suites create it)",
            python.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Opened in the past (sigstore-python refuses services whose window has not started), then
    // rotated: a new Fulcio chain and Rekor v1 key, the old ones closed but still listed.
    let now = std::time::SystemTime::now();
    let minutes_ago = |m: u64| now - std::time::Duration::from_secs(60 * m);
    let mut inst = common::instance();
    let mut h = TrustHistory::from_instance(&inst, minutes_ago(2));
    inst.certificate_authorities[0] = CertificateAuthority::new(
        common::FULCIO_URL,
        common::fulcio_chain("sigstack-fulcio-2"),
    )
    .unwrap();
    inst.tlogs[0] = TransparencyLog::rekor_v1(common::REKOR_URL, &common::p256_spki()).unwrap();
    assert!(h.observe(&inst, minutes_ago(1)));
    export(dir.path(), &h, None).unwrap();
    let out = Command::new(&python)
        .arg("-c")
        .arg(CHECK)
        .arg(dir.path().join("trust_config.json"))
        .arg(common::FULCIO_URL)
        .arg(format!("{}/api/v1/timestamp", common::TSA_URL))
        .arg(common::OIDC_URL)
        .arg(common::REKOR_URL)
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok",
        "sigstore-python rejected the config:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
