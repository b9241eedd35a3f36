//! The witness `sigstack up` runs beside its logs: its own Ed25519 key in the data directory,
//! following the stack's Rekor v2 log, active Rekor v1 shard and CT log, each of which submits
//! its checkpoints to it under a 1-of-1 policy (docs/witness.md).

use std::sync::Arc;

use anyhow::Context as _;
use witness::{Cosigner, LogList, Witness};
use witness_client::{WitnessClient, WitnessMode, Witnessing};
use witness_server::{SqlWitnessStore, WitnessServer};

/// How often the stack's logs submit a new checkpoint, as `--witness-interval` defaults.
const INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// The stack's witness before it serves: what the logs need to submit to it.
pub(crate) struct StackWitness {
    cosigner: Cosigner,
    /// Where the logs in this process reach it.
    url: String,
    /// Where clients reach it (the policy files name it).
    public_url: String,
}

impl StackWitness {
    /// The witness named `name` signing with `key`, reached by the logs at `url` and by
    /// clients at `public_url`.
    pub(crate) fn new(
        name: &str,
        key: Arc<dyn sigstack_keys::Signer>,
        url: String,
        public_url: String,
    ) -> anyhow::Result<Self> {
        let cosigner = Cosigner::new(name, key).context("the witness's name and key")?;
        Ok(Self {
            cosigner,
            url,
            public_url,
        })
    }

    /// The witness's verifier key, `<name>+<key ID>+<base64>`.
    pub(crate) fn vkey(&self) -> String {
        self.cosigner.verifier().to_vkey()
    }

    /// One log's witnessing: this witness, 1 of 1, fail-open.
    pub(crate) fn witnessing(&self) -> anyhow::Result<Witnessing> {
        let verifier = self.cosigner.verifier().clone();
        Ok(Witnessing {
            witnesses: vec![
                WitnessClient::new(&self.url, verifier.clone())?.with_public_url(&self.public_url)
            ],
            policy: witness::WitnessPolicy::new(vec![verifier], 1)?,
            interval: INTERVAL,
            mode: WitnessMode::FailOpen,
        })
    }

    /// The witness service following the logs of this process, its state in `database_url`.
    pub(crate) async fn serve(
        self,
        rekor: &rekor::Rekor,
        ctlog: &ctlog::CtLog,
        database_url: &str,
    ) -> anyhow::Result<Arc<WitnessServer>> {
        let note_key = |spki: &[u8], name: &str, rfc6962: bool| {
            crate::keys_cmd::log_key(spki, name, rfc6962)
                .with_context(|| format!("the witness's key for {name}"))
        };
        let (v1_origin, v1_name, v1_key) = rekor.v1_active_checkpoints();
        let logs = [
            (
                rekor.v2_origin(),
                note_key(rekor.v2_public_key_der(), rekor.v2_origin(), false)?,
            ),
            (v1_origin, note_key(v1_key, v1_name, false)?),
            (
                ctlog.origin(),
                note_key(ctlog.public_key_der(), ctlog.origin(), true)?,
            ),
        ]
        .into_iter()
        .map(|(origin, key)| witness::Log::new(origin, vec![key]))
        .collect::<Result<Vec<_>, _>>()?;
        let store = Arc::new(
            SqlWitnessStore::connect(database_url)
                .await
                .context("the witness's database")?,
        );
        Ok(Arc::new(WitnessServer::new(
            Witness::new(LogList::new(logs)?),
            self.cosigner,
            store,
        )))
    }
}
