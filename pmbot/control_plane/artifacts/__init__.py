"""Run artifacts (v8): a content-addressed store under <data>/artifacts whose URIs the DB
records, never the bytes. Empty in v7; see docs/specs/storage-and-deployment.md."""
