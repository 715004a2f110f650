"""Runs: plans, their lifecycle (the state machine), and the executor port."""
