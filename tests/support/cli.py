"""The installed `kyc-match` command, run as a user runs it (`run_cli`), or its entry point in this
process (`call_cli`: same exit status and output, without starting an interpreter each time)."""

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

KYC_MATCH = Path(sys.executable).parent / "kyc-match"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`kyc-match ARGS` in a subprocess, by default with the test environment (moto endpoint included)."""
    return subprocess.run(
        [str(KYC_MATCH), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env if env is not None else os.environ.copy(),
        check=False,
    )


def call_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`kyc-match ARGS` through `main(ARGS)`, the function the installed command calls, with the test
    environment: its exit status and what it printed. What it changes in the environment (the local
    stand-in's credentials) is undone, as a subprocess's would be. An exception the command does not
    turn into an exit status propagates (a subprocess would print it with status 1)."""
    from kyc_match_tools.cli import main  # the commands import boto3 and moto: only when called

    stdout, stderr = io.StringIO(), io.StringIO()
    environment = dict(os.environ)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                status = main(list(args))
            except SystemExit as exit_:  # argparse: --help, --version, a usage mistake
                status = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    finally:
        os.environ.clear()
        os.environ.update(environment)
    return subprocess.CompletedProcess([str(KYC_MATCH), *args], status, stdout.getvalue(), stderr.getvalue())


def terminal_of(log: Path) -> Path:
    """Where a test puts what `kyc-match serve --log-file LOG` prints on the terminal (its start-up
    lines and one access line per request): beside LOG, which holds the function's JSON lines."""
    return log.with_name(log.stem + "-terminal.log")


class ServedApi(NamedTuple):
    """The suite's `kyc-match serve` (tests/conftest.py)."""

    url: str
    log: Path  # the function's JSON log lines and metrics (`--log-file`)
    terminal: Path  # what serve printed: its start-up lines, one access line per request
