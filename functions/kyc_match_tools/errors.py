"""Mistakes a user can fix (a missing file, a busy port…): `kyc-match` prints one line and exits 2.

Messages name the file, the field or the entry, never a value from the user's data.
"""


class UsageError(Exception):
    """Raised by a command for a mistake in its input or environment; `cli.main` reports it."""


def one_line(error: Exception) -> str:
    """An error's text on one line; a pydantic ValidationError as `location: message; ...`."""
    details = getattr(error, "errors", None)
    if callable(details) and type(error).__name__ == "ValidationError":
        problems = [
            ".".join(str(part) for part in problem["loc"]) + f": {problem['msg']}"
            for problem in details(include_url=False, include_input=False)
        ]
        return "; ".join(problems)
    return " ".join(str(error).split())
