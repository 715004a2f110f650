"""The sync engine: it keeps the cache in step with GitHub.

- `listing.py`: pure rules (URLs, where a listing continues, where a cursor
  moves) and the typed `ResumeState` stored between pages.
- `fetch_ahead.py`: requests on helper threads, pages fetched ahead.
- `run.py`: one call's state and the caller's `SyncContext` (tick, progress).
- `sync.py`: the issues and PR streams, each page committed with its event.
- `reconcile.py`: cached open items GitHub no longer lists.
- `schedule.py`: the `repo_schedule`, `sync_requests` and `worker_heartbeats` rows.
- `worker.py`: the thread loop that claims due repos and runs their syncs.
"""
