"""pmbot: a local-first control plane over a cached, incrementally synced view of GitHub."""

__version__ = "0.7.0"
