"""The one place that reads the environment."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Deployment settings, read once per container from `KYC_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="KYC_", frozen=True)

    stage: str = "local"
    audit_table: str = "kyc-match-local-audit"
    subscribers_table: str = "kyc-match-local-subscribers"
    ported_numbers_table: str = "kyc-match-local-ported-numbers"
    config_table: str = "kyc-match-local-configuration"
    # CIBA authorizations still waiting for the subscriber (keyed hashes only), so a retry continues them.
    pending_authorizations_table: str = "kyc-match-local-pending-authorizations"
    # KMS HMAC_SHA_256 key (id, ARN or alias) used to hash identifiers; the key never leaves KMS.
    hash_key_id: str = "alias/kyc-match-local-identifiers"
    # Keys used before the current one: `audit find` hashes with each, so old entries stay findable.
    previous_hash_key_ids: tuple[str, ...] = ()
    # KMS ECC_NIST_P256 SIGN_VERIFY key (ES256) signing our client assertions; the key never leaves KMS.
    signing_key_id: str = "alias/kyc-match-local-signing"
    # Keys that signed before the current one: still published in our JWKS until their assertions expire.
    previous_signing_key_ids: tuple[str, ...] = ()
    audit_retention_days: int = Field(default=1826, ge=1)  # five years, EU AML record keeping
    # Durable fallback when the audit table refuses a write (SQS, drained by the drain job); "" = none.
    audit_fallback_queue_url: str = ""
    # Write-once (S3 Object Lock) bucket of the audit witness: signed, chained objects recording every
    # change the audit table's stream shows (issue #13).
    audit_witness_bucket: str = "kyc-match-local-audit-witness"
    # KMS ECC_NIST_P256 SIGN_VERIFY key (ES256) that signs witness objects: only the sealer may sign.
    witness_key_id: str = "alias/kyc-match-local-witness"
    # Keys that signed witness objects before the current one: `audit verify` still accepts them.
    previous_witness_key_ids: tuple[str, ...] = ()
    # KMS HMAC_SHA_256 key sealing policy items (operations seal, the match function verifies): not the
    # identifier key, which auditors may use to hash a number for `audit find`.
    policy_seal_key_id: str = "alias/kyc-match-local-policy-seal"
    # Operators as JSON (see operators/config.py); empty means the built-in sandbox operator.
    operators: str = ""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
