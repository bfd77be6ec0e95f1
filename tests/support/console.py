"""Console examples of the docs: parsed from Markdown, replayed in a shell, compared after normalising.

A ```console block holds commands (a line starting with `$ `, plus the indented lines after it, which
continue it) each followed by what it prints. A page is replayed top to bottom, as its reader would
type it, in one fresh local setup: `kyc-match serve` (its own embedded moto) and, when the page starts
them, operator simulators.
"""

import re
from dataclasses import dataclass
from pathlib import Path

# The only differences a replay may show, each genuinely different on every run. Both the page and
# the replay are normalised with this table before they are compared.
VOLATILE: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("HTTP date", re.compile(r"^Date: .*$", re.MULTILINE | re.IGNORECASE), "Date: <date>"),
    (
        "server and Python version",
        re.compile(r"^Server: .*$", re.MULTILINE | re.IGNORECASE),
        "Server: <server>",
    ),
    (
        "x-correlator generated when the request had none",
        re.compile(
            r"^(x-correlator): [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.MULTILINE
        ),
        r"\1: <generated uuid>",
    ),
    (
        "port of the embedded moto (any free one)",
        re.compile(r"AWS_ENDPOINT_URL=http://127\.0\.0\.1:\d+"),
        "AWS_ENDPOINT_URL=http://127.0.0.1:<port>",
    ),
    (
        "the temporary folder of serve's default log file",
        re.compile(r"^(Function logs: )\S+/kyc-match-serve-\d+\.log", re.MULTILINE),
        r"\1<temporary folder>/kyc-match-serve-<port>.log",
    ),
    (
        "a decision's id and audit entry key (its timestamp and request id, #26 item 7)",
        re.compile(r'"(decisionId|decisionEntryKey)": "[^"]+"'),
        r'"\1": "<generated>"',
    ),
    (
        "a simulation report's sha256 (its lines name entry keys, #26 item 6)",
        re.compile(r"report sha256 [0-9a-f]{64}"),
        "report sha256 <sha256>",
    ),
    (
        "the request id of an audit entry key (`policy simulate` lists changed entries)",
        re.compile(r"#[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"),
        "#<request id>",
    ),
    (
        "audit timestamps",
        re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?"),
        "<timestamp>",
    ),
)

# The ports the docs use; a replay runs on free ones (parallel runs must not collide) and maps back.
DOC_PORTS = (8080, 9001, 9002)


@dataclass(frozen=True)
class Example:
    page: Path
    line: int  # of the `$` line, 1-based
    command: str
    expected: str


@dataclass(frozen=True)
class Block:
    info: str  # what follows the opening fence: console, bash, json, ...
    line: int  # of the block's first line, 1-based
    body: str


def fenced_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    opened: tuple[str, int] | None = None
    body: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if opened is None and line.startswith("```"):
            opened, body = (line[3:].strip(), number + 1), []
        elif opened is not None and line.strip() == "```":
            blocks.append(Block(opened[0], opened[1], "\n".join(body)))
            opened = None
        elif opened is not None:
            body.append(line)
    return blocks


def examples(page: Path) -> list[Example]:
    found: list[Example] = []
    for block in fenced_blocks(page.read_text(encoding="utf-8")):
        if block.info == "console":
            found.extend(_split(page, block.body, block.line))
    return found


def _split(page: Path, block: str, first_line: int) -> list[Example]:
    found: list[Example] = []
    command: list[str] = []
    output: list[str] = []
    start = 0
    for number, line in enumerate(block.splitlines(), start=first_line):
        if line.startswith("$ "):
            if command:
                found.append(Example(page, start, "\n".join(command), "\n".join(output)))
            command, output, start = [line[2:]], [], number
        elif command and not output and line.startswith((" ", "\t")):
            command.append(line)
        elif command:
            output.append(line)
        else:
            raise ValueError(f"{page.name}:{number}: a console block must start with a `$ ` command")
    if command:
        found.append(Example(page, start, "\n".join(command), "\n".join(output)))
    return found


def normalise(text: str) -> str:
    text = text.replace("\r\n", "\n")
    for _, pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def is_server(command: str) -> bool:
    """`kyc-match serve` and `kyc-match operator-sim` run until stopped: they are started in the background."""
    return re.match(r"^(?:\.venv/bin/)?kyc-match (?:serve|operator-sim)\b", command) is not None and (
        "--help" not in command
    )
