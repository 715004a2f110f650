"""SQLite access: connections, transactions and the migration runner."""

from pmbot.control_plane.db.connect import connect, open_checked, open_database, transaction
from pmbot.control_plane.db.health import StorageError
from pmbot.control_plane.db.migrate import MigrationError, migrate

__all__ = [
    "MigrationError",
    "StorageError",
    "connect",
    "migrate",
    "open_checked",
    "open_database",
    "transaction",
]
