"""What a regulator receives (`kyc-match audit export --bundle DIR`) and checks with no AWS access
(`kyc-match audit verify --offline DIR --public-key FILE`):

    DIR/entries.jsonl                      every entry of the table, one JSON object a line, as stored
    DIR/witness/<region>/<sequence>.jws    every witness object, exactly as stored (its first version)
    DIR/witness/<region>/<sequence>.jws.v2 a later version of the same name, if one exists (a finding)
    DIR/keys/<kid>.pem                     the witness keys' public halves (current and previous)

Only those names are written, each resolved inside DIR: an object the bucket holds under any other
name (anyone with write on it can put `witness/../../../pwned/evil.sh`) is refused and named, never
written (issue #23).
"""

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kyc_match.audit.witness import PREFIX, WitnessObject, object_name, parse_name

ENTRIES = "entries.jsonl"
KEYS = "keys"
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")  # an AWS region's name: eu-west-1, us-gov-east-1
_KID = re.compile(r"[A-Za-z0-9_-]{1,128}")  # a JWK thumbprint (base64url) or a KMS key id


@dataclass(frozen=True)
class Written:
    """What a bundle holds: entries and witness objects written, and the names refused (sorted)."""

    entries: int
    objects: int
    refused: tuple[str, ...]


def write_bundle(
    directory: Path,
    entries: Iterable[Mapping[str, Any]],
    objects: Iterable[WitnessObject],
    pems: Mapping[str, bytes],
) -> Written:
    """Write the bundle. The directory must not hold a bundle already."""
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    with (directory / ENTRIES).open("x", encoding="utf-8") as output:
        for entry in entries:
            output.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
    root = directory.resolve()
    written, refused = 0, set()
    for item in objects:
        relative = item.name if item.version == 0 else f"{item.name}.v{item.version + 1}"
        if not is_witness_name(item.name) or not _write_inside(root, relative, item.body):
            refused.add(item.name)
            continue
        written += 1
    for kid, pem in pems.items():
        relative = f"{KEYS}/{kid}.pem"
        if _KID.fullmatch(kid) is None or not _write_inside(root, relative, pem):
            refused.add(relative)
    (root / KEYS).mkdir(exist_ok=True)
    return Written(count, written, tuple(sorted(refused)))


def is_witness_name(name: str) -> bool:
    """`witness/<region>/<12-digit sequence>.jws` exactly, as the sealer names its objects."""
    place = parse_name(name)
    return place is not None and _REGION.fullmatch(place[0]) is not None and object_name(*place) == name


def _write_inside(root: Path, relative: str, body: bytes) -> bool:
    """Write `body` at `relative` under `root` (resolved); False, writing nothing, if it lies outside."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or path == root:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return True


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
