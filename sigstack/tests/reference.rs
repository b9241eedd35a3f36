//! README's configuration reference names every flag and environment variable of the binary:
//! the help of every subcommand, walked recursively, is the list of what an operator can set,
//! and each of its long flags (`` `--name` ``) and variables (`` `NAME` ``) must appear in
//! README.md. A flag added without a row fails here.

use std::collections::BTreeMap;
use std::process::Command;

/// Flags every command has, which need no row.
const EXEMPT: &[&str] = &["--help", "--version"];

fn help(path: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sigstack"))
        .args(path)
        .arg("--help")
        // Help text as a pipe gets it, unwrapped by a terminal's width.
        .env_remove("COLUMNS")
        .output()
        .expect("run sigstack");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "sigstack {} --help failed:\n{text}{}",
        path.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The subcommands listed under `Commands:` (not `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim_end() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// The long flags an option line defines (`  -k, --key <KEY>`, `      --listen <LISTEN>`):
/// lines indented by at most six spaces, so that descriptions (indented further) mentioning
/// other flags are not taken for definitions.
fn long_flags(help: &str) -> Vec<String> {
    help.lines()
        .filter(|l| {
            let indent = l.len() - l.trim_start().len();
            (1..=6).contains(&indent) && l.trim_start().starts_with('-')
        })
        .flat_map(|l| {
            l.split([' ', ','])
                .filter(|w| w.starts_with("--") && w.len() > 2)
                .map(|w| {
                    w.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The variables of `[env: NAME=…]` and `[env: NAME]`.
fn env_vars(help: &str) -> Vec<String> {
    help.split("[env: ")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn the_readme_names_every_flag_and_variable() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    // Each name with the first command path that has it.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut commands = 0;
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = todo.pop() {
        let text = help(&path);
        commands += 1;
        let shown = format!("sigstack {}", path.join(" "));
        for name in long_flags(&text).into_iter().chain(env_vars(&text)) {
            names
                .entry(name)
                .or_insert_with(|| shown.trim_end().to_owned());
        }
        for sub in subcommands(&text) {
            let mut next = path.clone();
            next.push(sub);
            todo.push(next);
        }
    }
    // The walk found what it should: the services, the nested commands, their flags.
    assert!(commands > 30, "only {commands} commands walked");
    for known in ["--database-url", "--online-key", "SIGSTACK_REKOR_SHARDS"] {
        assert!(names.contains_key(known), "{known} not found in any --help");
    }
    let missing: Vec<String> = names
        .iter()
        .filter(|(name, _)| !EXEMPT.contains(&name.as_str()))
        .filter(|(name, _)| !readme.contains(&format!("`{name}`")))
        .map(|(name, command)| format!("`{name}` ({command})"))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md's configuration reference lacks {} of {} names:\n{}",
        missing.len(),
        names.len(),
        missing.join("\n")
    );
}
