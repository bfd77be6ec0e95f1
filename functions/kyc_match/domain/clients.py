"""A client's onboarding: its stable id, its API keys, the purposes (DPV) it may process personal data
for, and its default one.

The client id is chosen at onboarding and is the same in every region and across key rotations: the
audit trail, policies and purposes are filed under it. API Gateway only knows the key, so each key id
maps to one client (several keys per client while one is rotated). The CAMARA path (no purpose in the
request) uses the default purpose; the decision endpoint may name any purpose of the list. A key with
no client is refused (fail closed): without a declared purpose no personal data is processed, and no
operator is told a purpose the client never declared.
"""

import re
from dataclasses import dataclass

from kyc_match.domain.errors import ClientNotOnboardedError, PolicyNotAllowedError, PurposeNotAllowedError
from kyc_match.domain.purposes import is_purpose


class ClientProfileError(ValueError):
    """An onboarding record that cannot be stored; `problems` name fields and rules, never values."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# How long a client's audit entries are kept (#26 item 4), set at onboarding; absent: the deployment's
# auditRetentionDays. At least five years (EU AML record keeping: AMLD Art. 40, AMLR Art. 77, counted
# here from the check, the longest that holds without knowing when the relationship ends), at most ten
# (the five more years a member state may require). The witness bucket's Object Lock must cover it
# (`kyc-match clients apply|put` refuses a longer one: docs/audit.md#retention-per-client).
RETENTION_DAYS_MIN = 1826
RETENTION_DAYS_MAX = 3653

BUILT_IN_POLICY = "default"  # the built-in policy's id, and a client's own `default` policy
POLICY_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


@dataclass(frozen=True)
class ClientProfile:
    purposes: tuple[str, ...]
    default_purpose: str
    # The risk policies its keys may use, and the one a decision request naming none gets. Set at
    # onboarding, never by the caller: an integration cannot pick a more lenient policy.
    policies: tuple[str, ...] = (BUILT_IN_POLICY,)
    default_policy: str = BUILT_IN_POLICY
    retention_days: int | None = None  # its entries' retention; None: the deployment's default
    # Data minimisation (#27 item 4): its decisions forward to the operator only the attributes that
    # operator verifies (its coverage); the others are dropped, named in a `attributeNotSent` reason
    # and in the audit entry. Off by default: a decision then sends what it was sent, as before.
    minimise_attributes: bool = False

    @classmethod
    def of(
        cls,
        purposes: list[str] | tuple[str, ...],
        default: str | None = None,
        policies: list[str] | tuple[str, ...] | None = None,
        default_policy: str | None = None,
        retention_days: int | None = None,
        *,
        minimise_attributes: bool = False,
    ) -> "ClientProfile":
        """Validated: at least one purpose, each from the DPV purpose list, the default among them;
        policy ids well formed, the default policy among the policies."""
        unique = tuple(dict.fromkeys(purposes))
        problems = [
            f"{purpose!r} is not a DPV purpose (dpv:<term>)" for purpose in unique if not is_purpose(purpose)
        ]
        if not unique:
            problems.append("at least one purpose is required")
        chosen = default if default is not None else (unique[0] if unique else "")
        if unique and chosen not in unique:
            problems.append("the default purpose must be one of the purposes")
        bound = tuple(dict.fromkeys(policies or (default_policy or BUILT_IN_POLICY,)))
        default_policy = default_policy or bound[0]
        if not all(POLICY_ID.fullmatch(policy) for policy in bound):
            problems.append("a policy id must be 1 to 63 lowercase letters, digits or inner dashes")
        if default_policy not in bound:
            problems.append("the default policy must be one of the policies")
        if retention_days is not None and not RETENTION_DAYS_MIN <= retention_days <= RETENTION_DAYS_MAX:
            problems.append(
                f"retentionDays must be {RETENTION_DAYS_MIN} (five years, the AML minimum) to "
                f"{RETENTION_DAYS_MAX} (ten years)"
            )
        if problems:
            raise ClientProfileError(problems)
        return cls(unique, chosen, bound, default_policy, retention_days, minimise_attributes)

    def policy_for(self, requested: str | None) -> str:
        """The policy of a decision: the one requested if the client's keys may use it; none: the default."""
        if requested is None:
            return self.default_policy
        if requested not in self.policies:
            raise PolicyNotAllowedError
        return requested

    def document(self) -> dict[str, object]:
        document: dict[str, object] = {"purposes": list(self.purposes)}
        document["defaultPurpose"] = self.default_purpose
        if self.policies != (BUILT_IN_POLICY,) or self.default_policy != BUILT_IN_POLICY:
            document |= {"policies": list(self.policies), "defaultPolicy": self.default_policy}
        if self.retention_days is not None:
            document["retentionDays"] = self.retention_days
        if self.minimise_attributes:
            document["minimiseAttributes"] = True
        return document


# Lowercase letters, digits and inner dashes, 2 to 64 characters: readable in partition keys
# (`<client id>#<day>`, `POLICY#<client id>`) and never a `#` that would split them.
CLIENT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}[a-z0-9]")
# An API Gateway key id (10 lowercase letters and digits in AWS; `kyc-match serve` uses `local-key-N`).
API_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


@dataclass(frozen=True)
class Client:
    """Who a request's API key belongs to: what the function needs to serve it."""

    id: str
    profile: ClientProfile


@dataclass(frozen=True)
class ClientRecord:
    """A client's onboarding record in one region: its keys there and the ids of its older entries."""

    id: str
    profile: ClientProfile
    api_key_ids: tuple[str, ...] = ()  # this region's keys; each resolves to this client
    # Ids its audit entries were filed under before: API key ids of before the stable id, and keys
    # since removed. Kept for ever, so `audit find|export --client` finds the whole history.
    legacy_ids: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        client_id: str,
        profile: ClientProfile,
        api_key_ids: list[str] | tuple[str, ...] = (),
        legacy_ids: list[str] | tuple[str, ...] = (),
    ) -> "ClientRecord":
        """Validated ids; ClientProfileError names the rule broken (ids are configuration, not data)."""
        problems = []
        if not CLIENT_ID.fullmatch(client_id):
            problems.append(
                "the client id must be 2 to 64 lowercase letters, digits or inner dashes (e.g. acme-bank)"
            )
        keys = tuple(dict.fromkeys(api_key_ids))
        legacy = tuple(i for i in dict.fromkeys(legacy_ids) if i not in keys and i != client_id)
        if not all(API_KEY_ID.fullmatch(key) for key in (*keys, *legacy)):
            problems.append("an API key id or legacy id must be letters, digits, '-' or '_' (max 128)")
        if problems:
            raise ClientProfileError(problems)
        return cls(client_id, profile, keys, legacy)

    def history_ids(self) -> tuple[str, ...]:
        """Every `clientId` this client's audit entries may carry: its id, its keys, its legacy ids.

        Entries are filed under the client id; under a key id only before the stable id existed, or
        when the key was refused as belonging to no client yet."""
        return tuple(dict.fromkeys((self.id, *self.api_key_ids, *self.legacy_ids)))

    def replacing(self, previous: "ClientRecord | None") -> "ClientRecord":
        """This record as it replaces `previous`: the keys it drops, and its legacy ids, stay legacy ids."""
        if previous is None:
            return self
        kept = (*self.legacy_ids, *previous.legacy_ids, *previous.api_key_ids)
        return ClientRecord.of(self.id, self.profile, self.api_key_ids, kept)

    def document(self) -> dict[str, object]:
        return {
            **self.profile.document(),
            "apiKeyIds": list(self.api_key_ids),
            "legacyIds": list(self.legacy_ids),
        }


def purpose_for(profile: ClientProfile | None, requested: str | None) -> str:
    """The purpose of this call: the one requested if the client was onboarded for it, else its default."""
    if profile is None:
        raise ClientNotOnboardedError
    if requested is None:
        return profile.default_purpose
    if requested not in profile.purposes:
        raise PurposeNotAllowedError
    return requested
