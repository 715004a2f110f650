"""The LangGraph executor. v7: the interface and its input checks; v8: the runtime.

Nothing here imports `langgraph` yet: the control plane can be written and tested
against `Executor` before the runtime exists.
"""

from pmbot.execution_plane.langgraph.executor import Executor, prepare_resume, prepare_run

__all__ = ["Executor", "prepare_resume", "prepare_run"]
