"""Talking to GitHub: the pure protocol rules (protocol.py), the REST client
(client.py, the only code that sends requests; see its docstring) and what
GitHub last told us (status.py, the `github_status` row).
"""
