"""A stage's clients file (clients/<stage>.json): every client's stable id, purposes and API keys.

```json
{"clients": [{"id": "acme-bank",
              "purposes": ["dpv:FraudPreventionAndDetection"],
              "defaultPurpose": "dpv:FraudPreventionAndDetection",
              "retentionDays": 3653,
              "apiKeyIds": {"eu-west-1": ["a1b2c3d4e5"], "eu-central-1": ["f6g7h8i9j0"]},
              "legacyIds": []}]}
```

API keys are regional, so their ids are listed per region; a client's record holds the ids of every
region (#25 item 3): where the stage's configuration is one global table, `kyc-match clients apply`
runs once, in either region, and onboards the client's keys of both (storing only the running region's
would drop the other region's keys from the one record). A key id reaches the function only from the
region whose API Gateway knows the key, so another region's id in a region's own table opens nothing.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kyc_match.domain.clients import ClientProfile, ClientProfileError, ClientRecord
from kyc_match_tools.errors import one_line


class _ClientEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str
    purposes: list[str] = Field(min_length=1)
    default_purpose: str | None = Field(default=None, alias="defaultPurpose")
    policies: list[str] | None = None  # the risk policies its keys may use; absent: `default` only
    default_policy: str | None = Field(default=None, alias="defaultPolicy")
    # its audit entries' retention in days (#26 item 4); absent: the stage's auditRetentionDays
    retention_days: int | None = Field(default=None, alias="retentionDays", strict=True)
    # Its decisions forward only the attributes the number's operator verifies (docs/decision.md).
    minimise_attributes: bool = Field(default=False, alias="minimiseAttributes", strict=True)
    api_key_ids: dict[str, list[str]] = Field(default_factory=dict, alias="apiKeyIds")
    legacy_ids: list[str] = Field(default_factory=list, alias="legacyIds")


class _ClientsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clients: list[_ClientEntry]


def read_clients_file(document: Any, region: str) -> list[ClientRecord]:
    """The records, each with its keys of every region (`region`'s first), every one validated;
    ClientProfileError names entry and rule."""
    try:
        parsed = _ClientsFile.model_validate(document)
    except ValidationError as error:
        raise ClientProfileError([one_line(error)]) from None
    records: list[ClientRecord] = []
    problems: list[str] = []
    for number, entry in enumerate(parsed.clients, start=1):
        try:
            profile = ClientProfile.of(
                entry.purposes,
                entry.default_purpose,
                entry.policies,
                entry.default_policy,
                entry.retention_days,
                minimise_attributes=entry.minimise_attributes,
            )
            # `region` first (its keys lead the record), then the others' in the file's order
            ordered = sorted(entry.api_key_ids.items(), key=lambda pair: pair[0] != region)
            keys = [key for _, region_keys in ordered for key in region_keys]
            records.append(ClientRecord.of(entry.id, profile, keys, entry.legacy_ids))
        except ClientProfileError as error:
            problems += [f"clients[{number}]: {problem}" for problem in error.problems]
    owners = [key for record in records for key in record.api_key_ids]
    problems += [
        f"API key id {key} is listed for two clients" for key in sorted(set(owners)) if owners.count(key) > 1
    ]
    if len({record.id for record in records}) != len(records):
        problems.append("a client id is listed twice")
    if problems:
        raise ClientProfileError(problems)
    return records
