"""`python -m infra <command>`: offline tools over the Pulumi program. Commands: plan."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence


def _plan(argv: Sequence[str]) -> int:
    from infra.plan import main  # noqa: PLC0415 - import the heavy SDKs only for the command that needs them

    return main(argv)


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {"plan": _plan}


def run(argv: Sequence[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m infra {{{','.join(COMMANDS)}}} ...", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
