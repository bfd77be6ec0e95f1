"""The one place that reads the environment."""

import json
import os
from functools import lru_cache
from typing import Any, get_origin

from pydantic import BaseModel, ConfigDict, Field, model_validator

ENV_PREFIX = "KYC_"
LOCAL_STAGE = "local"  # the default: a deployed function has its stage (KYC_STAGE) set by infra


class Settings(BaseModel):
    """Deployment settings, read once per container from `KYC_*` environment variables.

    Names are matched case-insensitively; tuple fields are JSON lists (`["alias/a", "alias/b"]`);
    keyword arguments take precedence over the environment (tests). A plain pydantic model rather
    than pydantic-settings, which costs ~15 ms of cold start for these few lines (docs/performance.md).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str = LOCAL_STAGE
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
    # The stage's other regions' signing keys (ARNs or alias ARNs, each naming its region): published in
    # our JWKS beside ours, so an operator checking our private_key_jwt accepts whichever region signed.
    peer_signing_key_ids: tuple[str, ...] = ()
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
    # The stage's other regions' witness keys, current and previous (ARNs or alias ARNs, each naming its
    # region): published for auditors beside ours (GET /.well-known/witness-keys.json), never signing here.
    peer_witness_key_ids: tuple[str, ...] = ()
    # KMS HMAC_SHA_256 key sealing policy items (operations seal, the match function verifies): not the
    # identifier key, which auditors may use to hash a number for `audit find`.
    policy_seal_key_id: str = "alias/kyc-match-local-policy-seal"
    # Keys that sealed policy items before the current one: their seals still verify. A seal is checked
    # with these keys only, never with a key the item names (#23).
    previous_policy_seal_key_ids: tuple[str, ...] = ()
    # The people's operations role `kyc-match policy` assumes against AWS, with the caller's IAM user
    # name as its source identity (kyc_match_tools/identity.py): the stack's OperationsRoleArn output.
    # The policy-admin function takes steps only from its sessions (kyc_match/policies/admin.py).
    operations_role_arn: str = ""
    # The policy-admin function's URL (AWS_IAM auth; the stack's PolicyAdminUrl output): against AWS,
    # `kyc-match policy put|approve|activate|rollback|deactivate` asks it to take the step, as only it
    # may seal policy items (#23). Unset against the local stand-in: the command takes the step itself.
    policy_admin_url: str = ""
    # Operators as JSON (see operators/config.py); empty means the built-in sandbox operator.
    operators: str = ""
    # How long a warm container keeps a key's client (purposes, bound policies). `kyc-match serve` sets
    # 0: on a developer's machine an onboarding change is seen by the next request.
    client_cache_seconds: float = Field(default=60.0, ge=0, le=300)

    @property
    def runs_locally(self) -> bool:
        """`kyc-match serve`, the operator simulator, tests: operators on loopback hosts are allowed."""
        return self.stage == LOCAL_STAGE

    @model_validator(mode="before")
    @classmethod
    def _environment_below_arguments(cls, given: Any) -> Any:
        if not isinstance(given, dict):
            return given
        return {**_from_environment(cls), **given}


def _from_environment(model: type[BaseModel]) -> dict[str, Any]:
    environ = {name.upper(): value for name, value in os.environ.items()}
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        variable = ENV_PREFIX + name.upper()
        if variable not in environ:
            continue
        raw = environ[variable]
        if get_origin(field.annotation) is tuple:
            try:
                values[name] = json.loads(raw)
            except ValueError:
                raise ValueError(f"{variable} must be a JSON list") from None
        else:
            values[name] = raw
    return values


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
