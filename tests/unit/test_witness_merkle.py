"""RFC 9162 Merkle trees (audit/witness_merkle.py) against the RFC 6962 reference vectors: the same
leaf and node hashing, the test data of every Certificate Transparency implementation."""

import pytest

from kyc_match.audit.witness_merkle import inclusion_proof, leaf_hash, root, root_from_proof

LEAVES = [
    bytes.fromhex(data)
    for data in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
PATHS = [  # (leaf index, tree size, audit path)
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
HASHES = [leaf_hash(leaf) for leaf in LEAVES]


@pytest.mark.parametrize("size", range(9))
def test_roots_are_the_reference_roots(size):
    assert root(HASHES[:size]).hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), PATHS)
def test_audit_paths_are_the_reference_paths_and_lead_to_the_root(index, size, path):
    assert [node.hex() for node in inclusion_proof(index, HASHES[:size])] == path
    proof = [bytes.fromhex(node) for node in path]
    assert root_from_proof(index, size, HASHES[index], proof) == bytes.fromhex(ROOTS[size])


def test_every_proof_of_every_shape_verifies_and_nothing_else_does():
    leaves = [leaf_hash(bytes([n, n * 7 % 256])) for n in range(37)]
    for size in range(1, 38):
        top = root(leaves[:size])
        for index in range(size):
            proof = inclusion_proof(index, leaves[:size])
            assert root_from_proof(index, size, leaves[index], proof) == top
            other = (index + 1) % size
            if other != index:
                assert root_from_proof(other, size, leaves[index], proof) != top  # another position
                assert root_from_proof(index, size, leaves[other], proof) != top  # another leaf
            assert root_from_proof(index, size, leaves[index], [*proof, top]) != top  # too long
            if proof:
                assert root_from_proof(index, size, leaves[index], proof[:-1]) != top  # too short
        assert root_from_proof(size, size, leaves[0], []) is None
