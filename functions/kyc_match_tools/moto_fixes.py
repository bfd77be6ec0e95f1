"""Where moto (the local AWS stand-in) differs from AWS in a way the service depends on, made right.

- KMS `Sign` with `MessageType=DIGEST`: moto hashes the digest again (its docs: "DIGEST is not yet
  implemented"), so a signature over a signing input longer than KMS's 4096-byte RAW limit (a witness
  object) would not verify locally although it does in AWS. Here a DIGEST is signed as a prehashed
  SHA-256, as KMS does.
"""

import json
from functools import cache
from typing import Any


@cache
def apply() -> None:
    """Patch moto in this process (idempotent): call before moto serves a request."""
    import base64  # noqa: PLC0415

    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed  # noqa: PLC0415
    from moto.kms.responses import KmsResponse  # noqa: PLC0415

    raw_sign = KmsResponse.sign

    def sign(self: Any) -> str:
        if (
            self._get_param("MessageType") != "DIGEST"
            or self._get_param("SigningAlgorithm") != "ECDSA_SHA_256"
        ):
            return raw_sign(self)
        key = self.kms_backend.describe_key(self._get_param("KeyId"))
        digest = self._get_param("Message")
        digest = digest.encode("utf-8") if isinstance(digest, str) else digest
        signature = key.private_key.private_key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        answer = {
            "KeyId": key.arn,
            "Signature": base64.b64encode(signature).decode(),
            "SigningAlgorithm": "ECDSA_SHA_256",
        }
        return json.dumps(answer)

    KmsResponse.sign = sign  # type: ignore[method-assign]
