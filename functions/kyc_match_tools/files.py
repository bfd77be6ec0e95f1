"""Reading the files a user names on the command line: one-line errors, never the content."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kyc_match_tools.errors import UsageError


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of `path`; UsageError says which file (`what`) and why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read the {what} {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: the {what} is not UTF-8 text") from None


def read_json(path: Path, what: str, parse_float: Callable[[str], Any] = float) -> Any:
    """The JSON document in `path`; UsageError gives the position of a syntax error, not the text."""
    text = read_text(path, what)
    try:
        return json.loads(text, parse_float=parse_float)
    except json.JSONDecodeError as error:
        raise UsageError(
            f"{path}: the {what} is not valid JSON (line {error.lineno}, column {error.colno})"
        ) from None
