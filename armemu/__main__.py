"""``python -m armemu``: serve the local ARM on 127.0.0.1 until interrupted.

The first line on stdout is ``{"endpoint": ..., "ca_bundle": ...}`` so a script can read where
to point its client and which CA to trust.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from armemu.server import Emulator


def build_parser(prog: str = "python -m armemu") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="A local Azure Resource Manager over HTTPS on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    parser.add_argument("--state", type=Path, help="JSON file that keeps resources across restarts")
    parser.add_argument(
        "--feed", type=Path, help="Service Tags release served by the serviceTags API"
    )
    parser.add_argument("--lro-polls", type=int, default=1, help="InProgress answers per operation")
    parser.add_argument(
        "--retry-after", type=int, default=0, help="Retry-After to send, whole seconds as ARM does"
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "python -m armemu") -> int:
    args = build_parser(prog).parse_args(argv)
    emulator = Emulator(
        port=args.port,
        state_file=args.state,
        feed=args.feed,
        lro_polls=args.lro_polls,
        retry_after=args.retry_after,
    ).start()
    print(json.dumps({"endpoint": emulator.endpoint, "ca_bundle": str(emulator.ca_bundle)}))
    sys.stdout.flush()
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
