"""The sync engine: listing, fetch-ahead, sync, schedule, worker."""
