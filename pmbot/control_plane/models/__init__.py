"""Dataclasses for run records and API shapes shared by several control-plane modules
(v8). Empty in v7: the registry and cache define their own row types."""
