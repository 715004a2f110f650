"""SQLite access: connections, transactions and the migration runner."""

from pmbot.control_plane.db.connect import connect, open_database, transaction
from pmbot.control_plane.db.migrate import MigrationError, migrate

__all__ = ["MigrationError", "connect", "migrate", "open_database", "transaction"]
