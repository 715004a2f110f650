"""The execution plane: where agent runs execute, kept apart from the control plane.

It never imports `pmbot.control_plane`; it receives plain-dict contracts from
`pmbot.shared.contracts` and answers with plain dicts (see docs/adr/0001).
v7 holds only the executor interface; v8 adds the LangGraph runtime.
"""
