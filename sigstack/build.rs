//! Records the git revision the binary is built from, for `sigstack --version`.
//!
//! Sets `SIGSTACK_GIT_REVISION` for the crate: `git rev-parse --short HEAD`, with `-dirty`
//! when tracked files differ from HEAD, or `unknown` outside a git checkout (a source tarball,
//! a container build without `.git`) or without git. `SIGSTACK_GIT_REVISION` in the build's
//! environment overrides it (for builds from an export of the tree).
//!
//! Re-runs when HEAD moves (a checkout or a commit: `.git/HEAD`, the branch's ref, and
//! `packed-refs`). It does not watch every file of the work tree, so the dirty mark is the state
//! when the script last ran.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SIGSTACK_GIT_REVISION");
    let revision = match std::env::var("SIGSTACK_GIT_REVISION") {
        Ok(r) if !r.trim().is_empty() => r.trim().to_owned(),
        _ => git_revision().unwrap_or_else(|| "unknown".to_owned()),
    };
    println!("cargo:rustc-env=SIGSTACK_GIT_REVISION={revision}");
}

/// `git` run in this crate's directory: its trimmed stdout if it succeeded.
fn git(args: &[&str]) -> Option<String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_owned())
}

/// A path inside the git directory (`git rev-parse --git-path`, right for worktrees too).
fn git_path(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(git(&["rev-parse", "--git-path", name])?);
    if p.is_absolute() {
        return Some(p);
    }
    Some(Path::new(&std::env::var_os("CARGO_MANIFEST_DIR")?).join(p))
}

fn git_revision() -> Option<String> {
    let head = git(&["rev-parse", "--short", "HEAD"])?;
    // Watch what moves HEAD: HEAD itself (checkouts), the branch's ref (commits), and
    // packed-refs (where the ref may live instead).
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in &watched {
        if let Some(path) = git_path(name) {
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    // Tracked files only: untracked ones don't make the build differ from the commit.
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .map(|s| !s.is_empty())
        .unwrap_or(false);
    Some(if dirty { format!("{head}-dirty") } else { head })
}
