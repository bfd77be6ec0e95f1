"""Arguments several commands share: a TCP port, the sandbox subscribers file."""

import argparse
import re
from datetime import date
from pathlib import Path

from kyc_match_tools import local_aws
from kyc_match_tools.errors import UsageError


def port(value: str) -> int:
    """argparse type for a TCP port: 0 (any free one) to 65535."""
    if not value.isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (0-65535)")
    return int(value)


def add_subscribers_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--subscribers",
        type=Path,
        default=local_aws.DEFAULT_SUBSCRIBERS,
        metavar="FILE",
        help='sandbox subscribers file, {"subscribers": [...]}; the sandbox operator serves the country '
        "codes of their numbers (default: the bundled test subscribers)",
    )


E164 = re.compile(r"\+[1-9][0-9]{4,14}")  # the contract's PhoneNumber pattern


def e164(value: str) -> str:
    """argparse type for a phone number as the audit hashed it: E.164 with its '+'. The value is never
    repeated (it is personal data): `600000002` would otherwise find nothing and say `0 entries`."""
    if not E164.fullmatch(value):
        raise argparse.ArgumentTypeError(
            "not an E.164 number: '+', the country code and the number, e.g. +34600000001"
        )
    return value


def day(value: str) -> date:
    """argparse type for a calendar day, YYYY-MM-DD."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day (YYYY-MM-DD)") from None


def check_period(start: date | None, end: date | None) -> None:
    """`--from` and `--to` each work alone; together, `--from` may not come after `--to` (an empty
    period is a mistake, not `0 entries`)."""
    if start is not None and end is not None and start > end:
        raise UsageError(f"--from {start.isoformat()} is after --to {end.isoformat()}: an empty period")
