"""Approval decisions on run interrupts (v8): the operator approves, rejects or edits
what a paused LangGraph run proposes. Empty in v7."""
