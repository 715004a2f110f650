"""GitHub side of the control plane: the REST client, and the sync and worker built on it.

The client (client.py, protocol.py) is the only code that talks to GitHub; see its docstring.
"""
