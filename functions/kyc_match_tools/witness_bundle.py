"""What a regulator receives (`kyc-match audit export --bundle DIR`) and checks with no AWS access
(`kyc-match audit verify --offline DIR --public-key FILE`):

    DIR/entries.jsonl                      every entry of the table, one JSON object a line, as stored
    DIR/witness/<region>/<sequence>.jws    every witness object, exactly as stored (its first version)
    DIR/witness/<region>/<sequence>.jws.v2 a later version of the same name, if one exists (a finding)
    DIR/keys/<kid>.pem                     the witness keys' public halves (current and previous)

One client's bundle (`--client`) and one number's evidence (`audit evidence`) add client.json (whose,
which period; for evidence, the number's keyed hashes), proofs.jsonl and policies.jsonl, and hold
signed headers only; evidence adds summary.md (kyc_match.audit.evidence).

Only those names are written, each resolved inside DIR: an object the bucket holds under any other
name (anyone with write on it can put `witness/../../../pwned/evil.sh`) is refused and named, never
written (issue #23).
"""

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kyc_match.audit.witness import PREFIX, WitnessObject, instant, object_name, parse_name
from kyc_match.audit.witness_tree import signed_part

if TYPE_CHECKING:
    from joserfc.jwk import ECKey

    from kyc_match.audit.witness_client import ClientScope

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


# --- One client's bundle (#26 item 1) --------------------------------------------------------------------

CLIENT = "client.json"
PROOFS = "proofs.jsonl"


def write_client_bundle(
    directory: Path,
    scope: "ClientScope",
    entries: Iterable[Mapping[str, Any]],
    objects: Iterable[WitnessObject],
    keys: Mapping[str, "ECKey"],
    pems: Mapping[str, bytes],
    only: Collection[tuple[str, str]] | None = None,
) -> Written:
    """One client's bundle: its entries of the period, the signed headers of the version 2 objects
    sealed from the period's start on (headers only: roots and links), its count leaves and records
    with their audit paths, the public keys. Never an object's body nor a version 1 object (which
    lists every client's records): a later version of a name is written empty (`rewritten` needs no
    content). The directory must not hold a bundle already. `only` (one number's evidence): the
    records of these (clientDay, entryKey) keys alone, with no count leaf."""
    from kyc_match.audit.witness_tree import client_proofs  # noqa: PLC0415

    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ENTRIES).open("x", encoding="utf-8") as output:
        count = 0
        for entry in entries:
            output.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
    root = directory.resolve()
    chosen, refused = _client_objects(list(objects), scope, keys)
    written = 0
    with (root / PROOFS).open("x", encoding="utf-8") as proofs:
        for item, content in chosen:
            relative = item.name if item.version == 0 else f"{item.name}.v{item.version + 1}"
            body = signed_part(item.body) if item.version == 0 else b""
            if not _write_inside(root, relative, body):
                refused.add(item.name)
                continue
            written += 1
            row = client_proofs(content, scope.ids, only) if content and item.version == 0 else None
            if row is not None:
                proofs.write(json.dumps({"object": item.name, **row}, sort_keys=True) + "\n")
    described = {
        "client": scope.client,
        "ids": sorted(scope.ids),
        "from": scope.start.isoformat() if scope.start else None,
        "to": scope.end.isoformat() if scope.end else None,
    }
    if scope.subject:
        described["subject"] = sorted(scope.subject)
    (root / CLIENT).write_text(json.dumps(described, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    for kid, pem in pems.items():
        if _KID.fullmatch(kid) is None or not _write_inside(root, f"{KEYS}/{kid}.pem", pem):
            refused.add(f"{KEYS}/{kid}.pem")
    (root / KEYS).mkdir(exist_ok=True)
    return Written(count, written, tuple(sorted(refused)))


def _client_objects(
    objects: list[WitnessObject], scope: "ClientScope", keys: Mapping[str, "ECKey"]
) -> tuple[list[tuple[WitnessObject, dict[str, Any] | None]], set[str]]:
    """The objects of a client's bundle, with their opened content (None: does not open), and the names
    refused. Per region: from the first version 2 object sealed at or after the period's start (less
    the clock skew) on; objects that do not open are kept there (verify names them `forged`) unless
    their signed part lists records (a version 1 object, or anything that reads like one)."""
    from kyc_match.audit.witness_check import CLOCK_SKEW, open_whole  # noqa: PLC0415
    from kyc_match.audit.witness_signature import UnverifiedObjectError  # noqa: PLC0415

    refused: set[str] = set()
    opened: dict[str, dict[str, Any] | None] = {}
    first: dict[str, int] = {}  # region -> first sequence in the bundle
    since = datetime.combine(scope.start, time(), UTC) - CLOCK_SKEW if scope.start else None
    for item in objects:
        if not is_witness_name(item.name):
            refused.add(item.name)
            continue
        if item.version:
            continue
        try:
            content: dict[str, Any] | None = open_whole(item.body, keys)
        except UnverifiedObjectError:
            content = None
        opened[item.name] = content
        if content is None or content.get("version") != 2:
            continue
        sealed = instant(content.get("sealedAt"))
        region, sequence = parse_name(item.name) or ("", 0)
        if since is None or (sealed is not None and sealed >= since):
            first[region] = min(first.get(region, sequence), sequence)
    chosen = []
    for item in objects:
        place = parse_name(item.name)
        if item.name in refused or place is None or place[1] < first.get(place[0], place[1] + 1):
            continue
        content = opened.get(item.name)
        if item.version == 0 and content is None and _lists_records(item.body):
            continue
        if content is not None and content.get("version") != 2:
            continue  # a version 1 object past the first version 2 one: never written
        chosen.append((item, content))
    return chosen, refused


def _lists_records(body: bytes) -> bool:
    """Whether an object's signed part, read without its signature, lists records."""
    import base64  # noqa: PLC0415

    try:
        payload = signed_part(body).split(b".")[1]
        content = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return False
    return isinstance(content, dict) and "records" in content


def read_client_bundle(directory: Path) -> tuple["ClientScope", list[dict[str, Any]]] | None:
    """The scope and proof rows of a client's bundle; None for a whole-trail bundle."""
    from kyc_match.audit.witness_client import ClientScope  # noqa: PLC0415

    described_file = directory / CLIENT
    if not described_file.is_file():
        return None
    described = json.loads(described_file.read_text(encoding="utf-8"))
    scope = ClientScope(
        str(described["client"]),
        frozenset(str(name) for name in described["ids"]),
        date.fromisoformat(described["from"]) if described.get("from") else None,
        date.fromisoformat(described["to"]) if described.get("to") else None,
        frozenset(str(value) for value in described.get("subject") or ()),
    )
    with (directory / PROOFS).open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return scope, rows


# --- Policies in the evidence (#26 item 2) ---------------------------------------------------------------

POLICIES = "policies.jsonl"


def write_policies(directory: Path, policies: Iterable[Mapping[str, Any]]) -> int:
    """`policies.jsonl`: each policy version the entries name, `{"source", "id", "version", "sha256",
    "document"}`, the document as served (its sha256 recomputable: kyc_match.domain.policy_hash)."""
    count = 0
    with (directory / POLICIES).open("x", encoding="utf-8") as output:
        for policy in policies:
            output.write(json.dumps(policy, sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
    return count


def read_policies(directory: Path) -> list[dict[str, Any]]:
    """A bundle's policies (none for a bundle written before #26 item 2)."""
    path = directory / POLICIES
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def exported_entries(directory: Path) -> list[dict[str, Any]]:
    with (directory / ENTRIES).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]
