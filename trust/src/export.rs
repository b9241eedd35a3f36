//! The one module that touches the filesystem: `sigstack trust export DIR`.

use sigstack_keys::files::{write_atomically, FileAccess};
use std::io;
use std::path::{Path, PathBuf};

use crate::policy::{containers_policy, containers_registries_d, PolicyIdentity};
use crate::{Error, TrustHistory};

/// File names [`export`] writes.
pub mod files {
    /// The trusted root (cosign / sigstore-go `--trusted-root`).
    pub const TRUSTED_ROOT: &str = "trusted_root.json";
    /// The signing config (same content as the TUF target `signing_config.v0.2.json`).
    pub const SIGNING_CONFIG: &str = "signing_config.json";
    /// sigstore-python's ClientTrustConfig (`--trust-config`).
    pub const TRUST_CONFIG: &str = "trust_config.json";
    /// containers-policy.json(5).
    pub const POLICY: &str = "policy.json";
    /// The current Fulcio chain(s), PEM, referenced by `policy.json`.
    pub const FULCIO_CA: &str = "fulcio_ca.pem";
    /// The current Rekor v1 key, PEM, referenced by `policy.json`.
    pub const REKOR_PUB: &str = "rekor.pub";
    /// containers-registries.d(5) snippet enabling sigstore attachments.
    pub const REGISTRIES_D: &str = "registries.d/sigstack.yaml";
    /// The sigstore policy-controller's `TrustRoot` and `ClusterImagePolicy` (a `List`).
    pub const POLICY_CONTROLLER: &str = "kubernetes/policy-controller.json";
    /// A Kyverno `ClusterPolicy` with `verifyImages` (a `List`).
    pub const KYVERNO: &str = "kubernetes/kyverno.json";
    /// What each file is for.
    pub const README: &str = "README.txt";
    /// The TUF root, copied by the launcher (not written by [`super::export`]).
    pub const TUF_ROOT: &str = "root.json";
}

fn to_io(e: Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e)
}

fn readme(identity: Option<&PolicyIdentity>) -> String {
    let mut s = String::from(
        "Trust files for this sigstack instance (written by `sigstack trust export`).\n\
         \n\
         trusted_root.json    Keys and certificates of every CA, CT log, Rekor log and TSA this\n\
         \x20                    instance has used, with validity windows.\n\
         \x20                    cosign / sigstore-go: --trusted-root trusted_root.json\n\
         signing_config.json  Where to sign (Fulcio, Rekor, TSA, OIDC URLs); the TUF target\n\
         \x20                    signing_config.v0.2.json has the same content.\n\
         \x20                    cosign: --signing-config signing_config.json\n\
         trust_config.json    sigstore-python ClientTrustConfig (trusted root + signing config):\n\
         \x20                    sigstore --trust-config trust_config.json sign|verify ...\n\
         root.json            TUF root, when present (copied by the launcher). sigstore-js and\n\
         \x20                    @sigstore/cli: --tuf-mirror-url URL --tuf-root-path root.json;\n\
         \x20                    sigstore-python: sigstore --instance URL trust-instance root.json;\n\
         \x20                    cosign: cosign initialize --mirror URL --root root.json\n",
    );
    if let Some(id) = identity {
        let scope = if id.docker_scope.is_empty() {
            "every docker: image".to_owned()
        } else {
            format!("docker: images under {}", id.docker_scope)
        };
        s.push_str(&format!(
            "policy.json          containers-policy.json(5) for podman, skopeo, CRI-O: rejects\n\
             \x20                    everything except {scope} signed through this\n\
             \x20                    instance by {} (issuer {}).\n\
             \x20                    Install as /etc/containers/policy.json (or\n\
             \x20                    ~/.config/containers/policy.json); it names fulcio_ca.pem and\n\
             \x20                    rekor.pub by absolute path, so move them together and edit\n\
             \x20                    the paths, or export directly into the final directory.\n\
             \x20                    Needs a containers/image with Fulcio support in\n\
             \x20                    sigstoreSigned (older ones, e.g. skopeo 1.9, reject the\n\
             \x20                    \"fulcio\" key).\n\
             fulcio_ca.pem        Current Fulcio CA chain (policy.json fulcio.caPath).\n\
             rekor.pub            Current Rekor v1 log key (policy.json rekorPublicKeyPath).\n\
             registries.d/sigstack.yaml\n\
             \x20                    Copy into /etc/containers/registries.d/: turns on\n\
             \x20                    use-sigstore-attachments so signatures are fetched at all\n\
             \x20                    (merge by hand if another file already sets that scope).\n\
             kubernetes/policy-controller.json\n\
             \x20                    sigstore policy-controller: TrustRoot (the current keys and\n\
             \x20                    chains) and ClusterImagePolicy (the same images and signer);\n\
             \x20                    kubectl apply -f, then label namespaces\n\
             \x20                    policy.sigstore.dev/include=true.\n\
             kubernetes/kyverno.json\n\
             \x20                    Kyverno ClusterPolicy: verifyImages with a keyless attestor\n\
             \x20                    (the same images and signer); kubectl apply -f. Both list\n\
             \x20                    current keys only: export and apply again after a rotation.\n",
            id.email, id.issuer
        ));
    }
    s
}

/// Writes into `dir` (created if missing) everything clients need for the instance described by
/// `history`: `trusted_root.json`, `signing_config.json`, `trust_config.json`, `README.txt`, and,
/// when `identity` is given, `policy.json`, `fulcio_ca.pem`, `rekor.pub`,
/// `registries.d/sigstack.yaml` and the Kubernetes admission policies
/// `kubernetes/policy-controller.json` and `kubernetes/kyverno.json`. Every file is written atomically (temporary file, fsync,
/// rename). Returns the paths written, in that order.
///
/// Fails with `InvalidInput` before writing anything if the instance could not be signed with
/// (no current CA, CT log or Rekor log), or if `identity` is given and there is no current Rekor
/// v1 log for the containers policy.
pub fn export(
    dir: &Path,
    history: &TrustHistory,
    identity: Option<&PolicyIdentity>,
) -> io::Result<Vec<PathBuf>> {
    // Compute everything first, so a refusal leaves the directory untouched.
    let trust_config = history.client_trust_config().map_err(to_io)?;
    let mut outputs: Vec<(&str, Vec<u8>)> = vec![
        (files::TRUSTED_ROOT, trust_config.trusted_root.to_json()),
        (files::SIGNING_CONFIG, trust_config.signing_config.to_json()),
        (files::TRUST_CONFIG, trust_config.to_json()),
    ];
    let policy_parts = match identity {
        Some(id) => Some((
            id,
            history.fulcio_ca_pem().map_err(to_io)?,
            history.rekor_v1_public_key_pem().map_err(to_io)?,
            crate::admission::policy_controller(history, id).map_err(to_io)?,
            crate::admission::kyverno(history, id).map_err(to_io)?,
        )),
        None => None,
    };

    std::fs::create_dir_all(dir)?;
    let dir = dir.canonicalize()?;
    if let Some((id, ca_pem, rekor_pem, policy_controller, kyverno)) = policy_parts {
        let ca_path = dir.join(files::FULCIO_CA);
        let rekor_path = dir.join(files::REKOR_PUB);
        let policy = containers_policy(
            id,
            &ca_path.to_string_lossy(),
            &rekor_path.to_string_lossy(),
        );
        outputs.push((files::POLICY, policy));
        outputs.push((files::FULCIO_CA, ca_pem.into_bytes()));
        outputs.push((files::REKOR_PUB, rekor_pem.into_bytes()));
        outputs.push((files::REGISTRIES_D, containers_registries_d(id)));
        outputs.push((files::POLICY_CONTROLLER, policy_controller));
        outputs.push((files::KYVERNO, kyverno));
    }
    outputs.push((files::README, readme(identity).into_bytes()));

    let mut written = Vec::with_capacity(outputs.len());
    for (name, bytes) in outputs {
        let path = dir.join(name);
        write_atomically(&path, &bytes, FileAccess::Default)?;
        written.push(path);
    }
    Ok(written)
}
