"""Context packs: the repo facts a plan starts from, snapshotted from the local cache."""
