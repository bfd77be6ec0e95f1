"""The `kyc-match` command. Each sub-command lives in its own module under `commands/`."""

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import NoReturn

from kyc_match_tools.commands import COMMANDS
from kyc_match_tools.errors import UsageError, one_line

USAGE_ERROR = 2
SIGPIPE_STATUS = 128 + 13  # what a shell reports for a command its reader stopped early (as git does)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none or the help text already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """Every (sub)parser of `kyc-match`: defaults in its --help, a mistake said in one line."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: {message} (see {self.prog} --help)\n")


def package_version() -> str:
    try:
        return version("kyc-match")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


# Commands that read or write AWS: their --help says where they go.
AWS_COMMANDS = frozenset({"policy", "clients", "audit", "ported-numbers", "keys"})
AWS_EPILOG = (
    "AWS: the ambient credentials and AWS_DEFAULT_REGION; with AWS_ENDPOINT_URL set (as `kyc-match "
    "serve` prints it), the local stand-in instead."
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="kyc-match", description="KYC Match API: local tools")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    subcommands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.register(subcommands)
    for name, command_parser in subcommands.choices.items():
        if name in AWS_COMMANDS:
            for each in (command_parser, *_subparsers(command_parser)):
                each.epilog = AWS_EPILOG
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    return [
        sub
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for sub in action.choices.values()
    ]


def _chosen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The deepest (sub)command the arguments chose, for its own --help in an error."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
            if chosen is not None:
                return _chosen(chosen, args)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Exit status 0 on success, 1 when a command's answer is "no" (e.g. a finding), 2 on a mistake."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the subcommand's parser: its --help is the one to read, not kyc-match's
        _chosen(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        result: int = args.run(args)
        sys.stdout.flush()  # a reader that stopped early (`| head`) is met here, not at interpreter exit
    except BrokenPipeError:
        return _reader_gone()
    except UsageError as error:
        return _report(args, one_line(error))
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        message = _aws_failure(error)
        if message is None:
            raise
        return _report(args, message)
    return result


def _reader_gone() -> int:
    """The reader closed the pipe (`kyc-match audit export | head -1`): stop quietly, as `head` meant.
    Standard output is pointed at /dev/null so the interpreter's last flush has nowhere to fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return SIGPIPE_STATUS


def _report(args: argparse.Namespace, message: str) -> int:
    print(f"kyc-match {args.command}: {message}", file=sys.stderr)
    return USAGE_ERROR


def _aws_failure(error: Exception) -> str | None:
    """One line for an AWS call that failed: unreachable endpoint, no credentials, refused request;
    where the cause is usually AWS_ENDPOINT_URL (forgotten, or left from a stopped serve), it says so."""
    from botocore.exceptions import (  # noqa: PLC0415
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoRegionError,
    )

    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "unknown")
        return f"AWS refused {error.operation_name}: {code}"
    if isinstance(error, NoRegionError):
        return (
            "no AWS region: against AWS set AWS_DEFAULT_REGION (or --region where the command has it); "
            "against the local stand-in export AWS_ENDPOINT_URL as `kyc-match serve` prints it"
        )
    if isinstance(error, EndpointConnectionError) and endpoint:
        return (
            f"nothing answers at AWS_ENDPOINT_URL={endpoint}: is the `kyc-match serve` that printed it "
            "still running? (unset AWS_ENDPOINT_URL to work against AWS)"
        )
    if isinstance(error, BotoCoreError):
        return f"AWS call failed: {one_line(error)}"
    return None


if __name__ == "__main__":
    raise SystemExit(main())
