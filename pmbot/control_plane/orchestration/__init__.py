"""Run lifecycle and scheduling across tasks (v8 runs, v9 orchestration).
Empty in v7."""
