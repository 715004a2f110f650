"""The table from event class to the function that applies it to a projection.

Each projection module (`projections`, `run_projections`, `mirror_projections`)
fills one `Appliers` with `@APPLIERS.on(EventClass)`; `projections.apply`
dispatches through all of them, so live writes and `audit rebuild` run the
same functions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from pmbot.control_plane.audit.events import AuditEvent

Applier = Callable[[sqlite3.Connection, Any], None]


class Appliers(dict[type[AuditEvent], Applier]):
    """Event class → applier; one event class has one applier in all projections."""

    def on(self, event_class: type[AuditEvent]) -> Callable[[Applier], Applier]:
        def register(fn: Applier) -> Applier:
            if event_class in self:
                raise ValueError(f"{event_class.__name__} already has an applier")
            self[event_class] = fn
            return fn

        return register
