"""A fake GitHub REST API on 127.0.0.1 for pmbot's tests, benchmarks and demo.

    with FakeGitHub() as fake:                     # or fake.start() / fake.stop()
        fake.add_repo("acme/widgets")
        n = fake.add_issue("acme/widgets", title="Bug", labels=["bug"])
        client = GitHubClient(fake.base_url, fake.token)
        fake.update("acme/widgets", n, title="Bug!")   # updated_at → the fake's clock
        assert cache_rows == fake.truth("acme/widgets")

State: add_repo, add_issue, add_pr, update, add_comment, close, delete_item (→ 410),
transfer_item (→ 301), rename_repo (→ 301), truth, item.
Controls: inject(status=…, malformed=, retry_after=, secondary=, reset_connection=, delay=,
location=, times=, path=), clear_faults, on_request(callback), go_down(refuse=)/come_up,
rate_remaining / rate_used / rate_reset, reset_rate_limit, requests (RequestRecord list),
max_in_flight, errors (exceptions raised inside handlers: should stay empty).
Run standalone with `python -m tests.fake_github --port P [--demo] [--bench-issues N …]`.
"""

from tests.fake_github.controls import Fault, RequestRecord
from tests.fake_github.server import DEFAULT_TOKEN, FakeGitHub

__all__ = ["DEFAULT_TOKEN", "FakeGitHub", "Fault", "RequestRecord"]
