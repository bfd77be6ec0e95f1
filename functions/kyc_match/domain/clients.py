"""A client's onboarding: the purposes (DPV) it may process personal data for, and its default one.

The CAMARA path (no purpose in the request) uses the default; the decision endpoint may name any
purpose of the list. A client with no onboarding record is refused (fail closed): without a declared
purpose no personal data is processed, and no operator is told a purpose the client never declared.
"""

from dataclasses import dataclass

from kyc_match.domain.errors import ClientNotOnboardedError, PurposeNotAllowedError
from kyc_match.domain.purposes import is_purpose


class ClientProfileError(ValueError):
    """An onboarding record that cannot be stored; `problems` name fields and rules, never values."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ClientProfile:
    purposes: tuple[str, ...]
    default_purpose: str

    @classmethod
    def of(cls, purposes: list[str] | tuple[str, ...], default: str | None = None) -> "ClientProfile":
        """Validated: at least one purpose, each from the DPV purpose list, the default among them."""
        unique = tuple(dict.fromkeys(purposes))
        problems = [
            f"{purpose!r} is not a DPV purpose (dpv:<term>)" for purpose in unique if not is_purpose(purpose)
        ]
        if not unique:
            problems.append("at least one purpose is required")
        chosen = default if default is not None else (unique[0] if unique else "")
        if unique and chosen not in unique:
            problems.append("the default purpose must be one of the purposes")
        if problems:
            raise ClientProfileError(problems)
        return cls(unique, chosen)

    def document(self) -> dict[str, object]:
        return {"purposes": list(self.purposes), "defaultPurpose": self.default_purpose}


def purpose_for(profile: ClientProfile | None, requested: str | None) -> str:
    """The purpose of this call: the one requested if the client was onboarded for it, else its default."""
    if profile is None:
        raise ClientNotOnboardedError
    if requested is None:
        return profile.default_purpose
    if requested not in profile.purposes:
        raise PurposeNotAllowedError
    return requested
