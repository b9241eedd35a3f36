//! `sigstack tuf …`: the root ceremony, online signing, serving and export.

/// Flags of `sigstack tuf`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs one `sigstack tuf` command.
pub async fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("sigstack tuf is not built yet")
}
