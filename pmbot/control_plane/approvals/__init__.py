"""Decisions on run interrupts: the operator approves, rejects or edits what a run proposes."""
