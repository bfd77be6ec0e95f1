"""Keyed hashing of identifiers with a KMS HMAC key (GenerateMac): the key never leaves KMS.

A plain or salted SHA-256 of a phone number can be reversed by enumerating the number space; an
HMAC cannot without the key. Hashes are cached per container, so a repeated number costs no KMS call.
"""

from functools import lru_cache
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

HMAC_ALGORITHM: Final[Literal["HMAC_SHA_256"]] = "HMAC_SHA_256"
# Numbers whose hash a container keeps, least recently used dropped first (a repeated number costs
# no KMS call; bench/memory.py shows the heap flat once it is full).
CACHE_ENTRIES = 4096


class KmsIdentifierHasher:
    def __init__(self, kms: "KMSClient", key_id: str, cache_size: int = CACHE_ENTRIES) -> None:
        self._kms = kms
        self._key_id = key_id
        self._cached_mac = lru_cache(maxsize=cache_size)(self._generate_mac)

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def cached(self) -> int:
        """How many identifiers' hashes the cache holds now (at most its size)."""
        return self._cached_mac.cache_info().currsize

    def hash(self, identifier: str) -> str:
        """Hex HMAC-SHA-256 of the identifier under the configured KMS key."""
        return self._cached_mac(identifier)

    def hash_uncached(self, identifier: str) -> str:
        """The same hash, not kept: for one-off values (a request's correlator) that would only push
        the phone numbers out of the cache."""
        return self._generate_mac(identifier)

    def _generate_mac(self, identifier: str) -> str:
        response = self._kms.generate_mac(
            KeyId=self._key_id, MacAlgorithm=HMAC_ALGORITHM, Message=identifier.encode("utf-8")
        )
        return response["Mac"].hex()
