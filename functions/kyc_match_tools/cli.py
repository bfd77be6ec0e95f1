"""The `kyc-match` command. Each sub-command lives in its own module under `commands/`."""

import argparse
from collections.abc import Sequence

from kyc_match_tools.commands import COMMANDS


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kyc-match", description="KYC Match API: local tools")
    subcommands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(subcommands)
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
