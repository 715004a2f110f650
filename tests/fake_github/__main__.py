"""Run the fake GitHub standalone, for `make demo` and the benchmarks (in their own process).

    python -m tests.fake_github --port 8765 --demo
    python -m tests.fake_github --bench-issues 40000 --bench-prs 10000

The first line on stdout is JSON `{"base_url": …, "token": …}`, printed once the server
listens and every payload is rendered; then it serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from tests.fake_github.datasets import demo_ticker, load_bench, load_demo
from tests.fake_github.server import DEFAULT_TOKEN, FakeGitHub


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_github", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--demo", action="store_true", help="sample repos + a change every ~20 s")
    parser.add_argument("--bench-issues", type=int, default=0)
    parser.add_argument("--bench-prs", type=int, default=0)
    parser.add_argument("--cursor-after-page", type=int, default=None)
    parser.add_argument("--since-exclusive", action="store_true")
    parser.add_argument("--gzip", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    fake = FakeGitHub(
        args.token,
        port=args.port,
        since_inclusive=not args.since_exclusive,
        cursor_after_page=args.cursor_after_page,
        gzip=args.gzip,
    )
    if args.demo:
        load_demo(fake)
    if args.bench_issues or args.bench_prs:
        load_bench(fake, args.bench_issues, args.bench_prs)
    fake.start()
    fake.routes.prerender()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if args.demo:
        threading.Thread(target=demo_ticker, args=(fake, stop), daemon=True).start()
    print(json.dumps({"base_url": fake.base_url, "token": args.token}), flush=True)
    while not stop.wait(0.5):
        pass
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
