//! What several test modules share.

use tuf::{Metadata, RepositoryView, Root, Snapshot, Targets, Timestamp};

/// A repository as published: each role's metadata (and, for targets and snapshot, the bytes
/// the next role hashes).
pub(crate) struct Published {
    pub(crate) root: Metadata<Root>,
    pub(crate) targets: (Metadata<Targets>, Vec<u8>),
    pub(crate) snapshot: (Metadata<Snapshot>, Vec<u8>),
    pub(crate) timestamp: Metadata<Timestamp>,
}

impl Published {
    pub(crate) fn view(&self) -> RepositoryView<'_> {
        RepositoryView {
            root: &self.root,
            targets: (&self.targets.0, &self.targets.1),
            snapshot: (&self.snapshot.0, &self.snapshot.1),
            timestamp: &self.timestamp,
        }
    }
}
