"""Docs that cannot drift: every console example of README.md and docs/*.md, replayed for real.

Each page is replayed top to bottom, as its reader would type it, in a shell at the repository root
with the virtualenv's `bin` first on PATH (as after `source .venv/bin/activate`), against a fresh
`kyc-match serve` of its own (own embedded moto: examples that store something, such as a policy
version, replay the same on every run). The printed output must be what the page shows, after the
normalisation table of `support/console.py` (HTTP date, server version, generated correlators, moto's
port, audit timestamps) and nothing else.
"""

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.console import DOC_PORTS, Example, examples, fenced_blocks, is_server, normalise
from support.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
VENV_BIN = Path(sys.executable).parent
COMMAND_TIMEOUT = 60
START_TIMEOUT = 60


def _reader_environment() -> dict[str, str]:
    """A newcomer's shell: nothing of the suite's AWS/KYC/Powertools settings, the venv activated."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "KYC_", "POWERTOOLS_", "PYTEST_", "COV_"))
    }
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)
    env["COLUMNS"] = "100"  # argparse wraps --help to the terminal width
    return env


class PageSession:
    """One reader's terminals for one page: the servers it started, and a shell for everything else."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.ports = {doc: free_port() for doc in DOC_PORTS}
        self.aws_port = free_port()
        self.env = _reader_environment()
        self.servers: dict[int, tuple[subprocess.Popen[bytes], Path]] = {}

    # -- ports: the page's 8080/9001/9002 are free ports here, in commands, files named, and output
    def to_replay(self, text: str) -> str:
        for doc, real in self.ports.items():
            text = re.sub(rf"(127\.0\.0\.1:|--port ){doc}\b", rf"\g<1>{real}", text)
        return text

    def to_page(self, text: str) -> str:
        for doc, real in self.ports.items():
            text = re.sub(rf"127\.0\.0\.1:{real}\b", f"127.0.0.1:{doc}", text)
        return text

    def _files_with_ports(self, command: str) -> str:
        """A repository file the command names and that holds a page port gets a copy on the real ports."""
        for token in set(shlex.split(command.replace("\\\n", " "), comments=True)):
            path = ROOT / token
            if token.startswith("-") or not path.is_file() or path.stat().st_size > 100_000:
                continue
            content = path.read_text(encoding="utf-8")
            replayed = self.to_replay(content)
            if replayed != content:
                copy = self.tmp / path.name
                copy.write_text(replayed, encoding="utf-8")
                command = command.replace(token, str(copy))
        return command

    def command(self, example: Example) -> str:
        return self._files_with_ports(self.to_replay(example.command))

    # -- servers
    def start_server(self, example: Example) -> str:
        command = self.command(example)
        doc_port = 8080
        if re.search(r"kyc-match serve\b", command):
            if not re.search(r"--port[ =]\d", command):
                command += f" --port {self.ports[8080]}"
            command += f" --aws-port {self.aws_port}"
        else:
            doc_port = int(re.search(r"--port (\d+)", example.command).group(1))  # type: ignore[union-attr]
        self.stop_server(doc_port)
        log = self.tmp / f"server-{doc_port}.log"
        # serve starts its own moto on --aws-port; the other commands reach it through AWS_ENDPOINT_URL
        env = {name: value for name, value in self.env.items() if name != "AWS_ENDPOINT_URL"}
        with log.open("wb") as sink:
            process = subprocess.Popen(
                ["bash", "-c", f"exec {command}"], cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        self.servers[doc_port] = (process, log)
        if doc_port == 8080:  # the reader exports the AWS_ENDPOINT_URL that serve prints
            self.env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{self.aws_port}"
        expected_lines = len(normalise(example.expected).splitlines()) if example.expected.strip() else 0
        return self._wait_until_up(process, log, self.ports[doc_port], expected_lines)

    def _wait_until_up(self, process: subprocess.Popen[bytes], log: Path, port: int, lines: int) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            printed = log.read_text(encoding="utf-8", errors="replace")
            if process.poll() is not None:
                return printed  # exited: what it printed is the result to compare
            if _accepts(port) and len(printed.splitlines()) >= lines:
                # The start-up lines: serve prints an access line for each request after them, the
                # probe above included.
                return "\n".join(printed.splitlines()[:lines]) if lines else printed
            time.sleep(0.2)  # bounded poll: a subprocess starting to listen
        raise AssertionError(f"server on port {port} did not start within {START_TIMEOUT} s")

    def ensure_api(self) -> None:
        """Pages that do not start `kyc-match serve` themselves use one with the default arguments."""
        if 8080 not in self.servers:
            printed = self.start_server(Example(Path("implicit"), 0, "kyc-match serve", ""))
            assert self.servers[8080][0].poll() is None, f"kyc-match serve did not start:\n{printed}"

    def stop_server(self, doc_port: int) -> None:
        if doc_port in self.servers:
            process, _ = self.servers.pop(doc_port)
            process.terminate()
            process.wait(timeout=10)

    def close(self) -> None:
        for doc_port in list(self.servers):
            self.stop_server(doc_port)

    # -- everything else
    def run(self, example: Example) -> str:
        if is_server(example.command):
            return self.start_server(example)
        if _needs_api(example.command):
            self.ensure_api()
        completed = subprocess.run(
            ["bash", "-c", self.command(example)],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        return completed.stdout.decode("utf-8", errors="replace")


def _accepts(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
    except httpx.TransportError:
        return False
    return True


def _needs_api(command: str) -> bool:
    """Requests to the API and commands on its AWS stand-in; not --help, not `invoke` (its own moto)."""
    if "--help" in command or re.search(r"kyc-match (?:invoke|--version)\b", command):
        return False
    return "curl" in command or "kyc-match" in command


@pytest.fixture
def page_session(tmp_path: Path) -> Iterator[PageSession]:
    session = PageSession(tmp_path)
    yield session
    session.close()


def _pages_with_examples() -> list[Path]:
    return [page for page in PAGES if examples(page)]


@pytest.mark.parametrize("page", _pages_with_examples(), ids=lambda page: page.name)
def test_console_examples_replay_as_printed(page: Path, page_session: PageSession) -> None:
    differences = []
    for example in examples(page):
        printed = page_session.to_page(page_session.run(example))
        expected, actual = normalise(example.expected), normalise(printed)
        if actual != expected:
            differences.append(
                f"{page.name}:{example.line}: $ {example.command}\n"
                f"--- the page shows\n{expected}\n--- the replay printed\n{actual}\n"
            )
    assert not differences, "console examples no longer match:\n\n" + "\n".join(differences)


def test_prompts_appear_only_in_replayed_console_blocks() -> None:
    """A page may not show curl or kyc-match output outside console blocks, where no one checks it."""
    for page in PAGES:
        for block in fenced_blocks(page.read_text(encoding="utf-8")):
            if block.info != "console":
                assert not re.search(r"^\$ ", block.body, re.MULTILINE), (
                    f"{page.name}:{block.line}: a block with `$ ` prompts must be a ```console block (replayed)"
                )
