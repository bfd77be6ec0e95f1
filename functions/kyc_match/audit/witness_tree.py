"""Witness objects of version 2 (#26 item 1): a signed header that commits to the records as Merkle
trees, so one client's records can be proven without showing anyone else's.

An object is `<compact JWS of the header>` `\\n` `<body, canonical JSON>`. The header is all that is
signed (one KMS Sign per object, as before):

    {"version": 2, "region", "sequence", "previous", "sealedAt",
     "recordsTree": {"size": 128, "root": "<hex>"}, "clientsTree": {"size": 128, "root": "<hex>"},
     "indexHash": "<hex>"}

- `recordsTree`: RFC 9162 over the object's records in their order, a leaf being the record's
  canonical JSON (it holds the entry's key, its event and the entry's existing hash: `newHash` /
  `oldHash`), padded to TREE_SIZE leaves with leaves no one can tell from records;
- `clientsTree`: one leaf per client with records in the object (sorted by client id), the count of
  its records, `previous` (the sequence of the last earlier object of the chain with records of that
  client, 0 for none: a client's counts form a chain of their own, so dropping all of its records of
  an object shows) and a random `salt` (a client id and a small count could otherwise be guessed from
  a sibling hash); padded likewise. A tree's size says nothing of how many records or clients it holds;
- `previous` (the chain link) is the SHA-256 of the previous object's header JWS (for an object of
  version 1, which has no body, of its bytes, as before): a client can check the chain from the
  headers alone;
- `indexHash`: SHA-256 of the body's `index`, each client's last sequence with records (the sealer's
  memory for `previous`).

The body holds the records, the client leaves, the padding seed and the index. Version 1 objects (a
JWS whose payload lists the records) still open and verify as before.
"""

import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from kyc_match.audit.witness_merkle import inclusion_proof, leaf_hash, root, root_from_proof
from kyc_match.audit.witness_signature import ObjectSigner, UnverifiedObjectError, open_object, sign_object
from kyc_match.tables import AUDIT

if TYPE_CHECKING:
    from joserfc.jwk import ECKey

VERSION: Final = 2
TREE_SIZE: Final = 128  # leaves per tree: at least MAX_RECORDS_PER_OBJECT records (or clients)
SEPARATOR: Final = b"\n"


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signed_part(body: bytes) -> bytes:
    """The header JWS of a version 2 object; a version 1 object whole."""
    return body.split(SEPARATOR, 1)[0]


def link_hash(body: bytes) -> str:
    """What the next object's `previous` holds: SHA-256 of the signed part."""
    return hashlib.sha256(signed_part(body)).hexdigest()


def client_of(record: Mapping[str, Any]) -> str:
    """The client id of a witness record: its clientDay without the day."""
    key = record.get("key")
    client_day = str(key.get(AUDIT.partition_key, "")) if isinstance(key, Mapping) else ""
    return client_day.rsplit("#", 1)[0]


def record_leaf(record: Mapping[str, Any]) -> bytes:
    return leaf_hash(canonical(record))


def count_leaf(count: Mapping[str, Any]) -> bytes:
    return leaf_hash(canonical(count))


def _padded(leaves: list[bytes], seed: str, tree: str) -> list[bytes]:
    """The leaves, then leaves made from the secret seed up to TREE_SIZE."""
    key = bytes.fromhex(seed)
    padding = [
        leaf_hash(hashlib.sha256(key + tree.encode() + index.to_bytes(2, "big")).digest())
        for index in range(len(leaves), TREE_SIZE)
    ]
    return [*leaves, *padding]


def _index_hash(index: Mapping[str, int]) -> str:
    return hashlib.sha256(canonical(dict(index))).hexdigest()


def counts_of(records: Iterable[Mapping[str, Any]]) -> Counter[str]:
    return Counter(client_of(record) for record in records)


def build(
    region: str,
    sequence: int,
    previous: str | None,
    records: list[dict[str, Any]],
    sealed_at: datetime,
    index: Mapping[str, int],
    randomness: Callable[[int], bytes] = os.urandom,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, body) of a version 2 object; the body's `index` is the one the next object goes on from."""
    counts = counts_of(records)
    if len(records) > TREE_SIZE or len(counts) > TREE_SIZE:
        raise ValueError(f"a witness object holds at most {TREE_SIZE} records")
    clients = [
        {
            "client": client,
            "records": counts[client],
            "previous": index.get(client, 0),
            "salt": randomness(16).hex(),
        }
        for client in sorted(counts)
    ]
    following = {**index, **dict.fromkeys(counts, sequence)}
    seed = randomness(32).hex()
    header = {
        "version": VERSION,
        "region": region,
        "sequence": sequence,
        "previous": previous,
        "sealedAt": sealed_at.astimezone(UTC).isoformat(timespec="seconds"),
        "recordsTree": {"size": TREE_SIZE, "root": _records_root(records, seed).hex()},
        "clientsTree": {"size": TREE_SIZE, "root": _clients_root(clients, seed).hex()},
        "indexHash": _index_hash(following),
    }
    body = {"records": records, "clients": clients, "padding": seed, "index": following}
    return header, body


def sealed_object(signer: ObjectSigner, header: Mapping[str, Any], body: Mapping[str, Any]) -> bytes:
    return sign_object(signer, header) + SEPARATOR + canonical(body)


def _records_root(records: Sequence[Mapping[str, Any]], seed: str) -> bytes:
    return root(_padded([record_leaf(record) for record in records], seed, "records"))


def _clients_root(clients: Sequence[Mapping[str, Any]], seed: str) -> bytes:
    return root(_padded([count_leaf(count) for count in clients], seed, "clients"))


def open_witness(body: bytes, keys: Mapping[str, "ECKey"]) -> dict[str, Any]:
    """The content of a witness object whose signature one of `keys` verifies: a version 1 payload as
    it is; a version 2 header with its body's records, clients and index, once the body is shown to
    be what the header commits to."""
    signed, separator, rest = body.partition(SEPARATOR)
    header = open_object(signed, keys)
    if header.get("version") != VERSION:
        if separator:
            raise UnverifiedObjectError("a version 1 object has no body")
        return header
    try:
        content = json.loads(rest)
        return {**header, **_checked_body(header, content)}
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise UnverifiedObjectError("the body is not what the header commits to") from error


def _checked_body(header: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    records, clients, seed, index = body["records"], body["clients"], body["padding"], body["index"]
    if not isinstance(records, list) or not isinstance(clients, list) or not isinstance(index, dict):
        raise ValueError("body parts")
    if len(records) > TREE_SIZE or len(clients) > TREE_SIZE:
        raise ValueError("too many leaves")
    trees = (header["recordsTree"], header["clientsTree"])
    if any(tree.get("size") != TREE_SIZE for tree in trees):
        raise ValueError("tree size")
    if _records_root(records, seed).hex() != trees[0]["root"]:
        raise ValueError("records root")
    if _clients_root(clients, seed).hex() != trees[1]["root"]:
        raise ValueError("clients root")
    counts = counts_of(records)
    listed = {str(count["client"]): count["records"] for count in clients}
    if listed != dict(counts) or len(listed) != len(clients):
        raise ValueError("client counts")
    if _index_hash(index) != header["indexHash"]:
        raise ValueError("index")
    return {"records": records, "clients": clients, "index": index, "padding": seed}


# --- Proofs for one client ------------------------------------------------------------------------------


def client_proofs(
    content: Mapping[str, Any],
    client_ids: Iterable[str],
    only: Collection[tuple[str, str]] | None = None,
) -> dict[str, Any] | None:
    """What a client's bundle holds of an opened version 2 object: for each of the client's ids with
    records in it, its count leaf and each of its records, with their leaf indexes and audit paths.
    None when the object holds nothing of the client's. `only` (one number's evidence, #26 item 3):
    the records of these (clientDay, entryKey) keys and no count leaf (it would count the client's
    other records), None when the object holds none of them."""
    if only is not None:
        return _some_records(content, client_ids, only)
    seed = content["padding"]
    wanted = set(client_ids)
    records: list[dict[str, Any]] = content["records"]
    clients: list[dict[str, Any]] = content["clients"]
    record_leaves = _padded([record_leaf(record) for record in records], seed, "records")
    client_leaves = _padded([count_leaf(count) for count in clients], seed, "clients")
    counts = [
        {"leaf": count, "index": place, "proof": _hex(inclusion_proof(place, client_leaves))}
        for place, count in enumerate(clients)
        if count["client"] in wanted
    ]
    if not counts:
        return None
    proven = [
        {"leaf": record, "index": place, "proof": _hex(inclusion_proof(place, record_leaves))}
        for place, record in enumerate(records)
        if client_of(record) in wanted
    ]
    return {"counts": counts, "records": proven}


def _some_records(
    content: Mapping[str, Any], client_ids: Iterable[str], only: Collection[tuple[str, str]]
) -> dict[str, Any] | None:
    wanted, keys = set(client_ids), set(only)
    records: list[dict[str, Any]] = content["records"]
    record_leaves = _padded([record_leaf(record) for record in records], content["padding"], "records")
    proven = [
        {"leaf": record, "index": place, "proof": _hex(inclusion_proof(place, record_leaves))}
        for place, record in enumerate(records)
        if client_of(record) in wanted and _key(record) in keys
    ]
    return {"records": proven} if proven else None


def _key(record: Mapping[str, Any]) -> tuple[str, str]:
    key = record.get("key")
    if not isinstance(key, Mapping):
        return ("", "")
    return (str(key.get(AUDIT.partition_key, "")), str(key.get(AUDIT.sort_key or "entryKey", "")))


def _hex(proof: list[bytes]) -> list[str]:
    return [node.hex() for node in proof]


def proves(leaf: bytes, index: Any, proof: Any, tree: Mapping[str, Any]) -> bool:
    """Whether an audit path leads from a leaf hash to the root a signed header holds."""
    try:
        path = [bytes.fromhex(node) for node in proof]
        found = root_from_proof(int(index), int(tree["size"]), leaf, path)
        return found is not None and found.hex() == tree["root"]
    except (ValueError, TypeError, KeyError):
        return False
