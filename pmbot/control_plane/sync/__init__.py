"""The sync engine: it keeps the cache in step with GitHub.

- `listing.py`: pure rules (URLs, where a listing continues, where a cursor
  moves) and the typed `ResumeState` stored between pages.
- `fetch_ahead.py`: requests on helper threads, pages fetched ahead.
- `run.py`: one call's state and the caller's `SyncContext` (tick, progress).
- `identity.py`: GitHub's numeric repo id, renames, a name taken over.
- `sync.py`: the issues stream, each page committed with its event; `sync_repo`.
- `pulls.py`: the PR details stream (`/pulls`, as deep as what changed).
- `reconcile.py`: cached items GitHub no longer lists (open ones, and closed ones
  every `PMBOT_RECONCILE_CLOSED_DAYS`).
- `schedule.py`: the `repo_schedule`, `sync_requests` and `worker_heartbeats` rows.
- `holder.py`: who holds a lease (host, pid, start), so a dead holder's is taken over.
- `worker.py`: the thread loop that claims due repos and runs their syncs.
- `mirrors.py`, `git_runner.py`: the git mirrors and their own thread.
"""
