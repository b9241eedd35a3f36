//! `sigstack tsa …`: the command line of the timestamp authority.

/// Flags of `sigstack tsa`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `sigstack tsa` until interrupted.
pub async fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("sigstack tsa is not built yet")
}
