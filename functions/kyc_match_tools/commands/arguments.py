"""Arguments several commands share: a TCP port, the sandbox subscribers file."""

import argparse
from datetime import date
from pathlib import Path

from kyc_match_tools import local_aws


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


def day(value: str) -> date:
    """argparse type for a calendar day, YYYY-MM-DD."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day (YYYY-MM-DD)") from None
