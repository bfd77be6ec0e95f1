"""Supply chain (#25 item 6): the function asset's requirements are hash-locked and installed with
--require-hashes; production functions accept only code signed by the stage's signing profile."""

import re

from infra.bundling import REQUIREMENTS, PipLocalBundling

HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def _requirement_lines(text: str) -> list[str]:
    """Each requirement of a requirements file as one logical line (continuations joined), comments and
    option lines dropped: runtime-provided packages included, since pip checks the whole file."""
    logical, pending = [], ""
    for raw in text.splitlines():
        line = "" if raw.lstrip().startswith("#") else raw.split(" #", 1)[0].rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = (pending + line).strip(), ""
        if line and not line.startswith("-"):
            logical.append(line)
    return logical


def test_every_asset_requirement_is_pinned_and_hash_locked():
    text = REQUIREMENTS.read_text(encoding="utf-8")
    lines = _requirement_lines(text)
    assert len(lines) > 20
    unhashed = [line.split()[0] for line in lines if not HASH.search(line)]
    assert not unhashed, f"requirements/lambda.txt lines without --hash: {unhashed}"
    assert all(re.match(r"^[A-Za-z0-9._-]+==\S+ ", line) for line in lines)  # pinned exactly
    # The file says how it was made, so regenerating it keeps the hashes.
    assert "--generate-hashes" in text.splitlines()[1]


def test_the_bundler_installs_with_require_hashes(tmp_path):
    command = PipLocalBundling().pip_command(str(tmp_path / "out"), str(tmp_path / "requirements.txt"))
    assert "--require-hashes" in command
    # The Lambda's wheels only: the hashes are those of the binary distributions pip may pick.
    assert "--only-binary=:all:" in command and "--no-deps" in command
