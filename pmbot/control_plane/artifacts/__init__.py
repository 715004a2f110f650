"""Run artifacts: the content-addressed file store and the `run_artifacts` reads."""
