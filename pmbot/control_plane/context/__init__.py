"""Context packs (v8): the repo facts a run starts from, built from the local cache.
Empty in v7."""
