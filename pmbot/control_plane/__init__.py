"""The control plane: registry, sync, audit log and API. Never imports langgraph/langchain."""
