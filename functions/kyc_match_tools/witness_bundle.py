"""What a regulator receives (`kyc-match audit export --bundle DIR`) and checks with no AWS access
(`kyc-match audit verify --offline DIR --public-key FILE`):

    DIR/entries.jsonl                      every entry of the table, one JSON object a line, as stored
    DIR/witness/<region>/<sequence>.jws    every witness object, exactly as stored (its first version)
    DIR/witness/<region>/<sequence>.jws.v2 a later version of the same name, if one exists (a finding)
    DIR/keys/<kid>.pem                     the witness keys' public halves (current and previous)
"""

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kyc_match.audit.witness import PREFIX, WitnessObject

ENTRIES = "entries.jsonl"
KEYS = "keys"


def write_bundle(
    directory: Path,
    entries: Iterable[Mapping[str, Any]],
    objects: Iterable[WitnessObject],
    pems: Mapping[str, bytes],
) -> tuple[int, int]:
    """Write the bundle; (entries, objects) written. The directory must not hold a bundle already."""
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    with (directory / ENTRIES).open("x", encoding="utf-8") as output:
        for entry in entries:
            output.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
    written = 0
    for item in objects:
        path = directory / (item.name if item.version == 0 else f"{item.name}.v{item.version + 1}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.body)
        written += 1
    (directory / KEYS).mkdir(exist_ok=True)
    for kid, pem in pems.items():
        (directory / KEYS / f"{kid}.pem").write_bytes(pem)
    return count, written


def read_bundle(directory: Path) -> tuple[list[dict[str, Any]], list[WitnessObject]]:
    """Entries and witness objects of a bundle; any other file under witness/ is read as an object
    (and reported: it has no witness name)."""
    entries_file = directory / ENTRIES
    if not entries_file.is_file():
        raise FileNotFoundError(f"{entries_file} is missing: not an audit export")
    with entries_file.open(encoding="utf-8") as lines:
        entries = [json.loads(line) for line in lines if line.strip()]
    objects = []
    root = directory / PREFIX.rstrip("/")
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        if path.is_file():
            name, version = _name_and_version(path.relative_to(directory).as_posix())
            objects.append(WitnessObject(name, version, path.read_bytes()))
    return entries, objects


def _name_and_version(relative: str) -> tuple[str, int]:
    name, dot, suffix = relative.rpartition(".v")
    if dot and name.endswith(".jws") and suffix.isdigit() and int(suffix) > 1:
        return name, int(suffix) - 1
    return relative, 0
