"""Which comparison key each CAMARA attribute uses.

A rule is a key function: two values match when their keys are equal, and the Jaro-Winkler score of a
near miss is computed on the keys. See the table in docs/matching.md.
"""

from collections.abc import Callable
from types import MappingProxyType

from kyc_match.matching.addresses import address_key
from kyc_match.matching.normalise import (
    code_key,
    email_key,
    exact_key,
    full_name_key,
    identifier_key,
    kana_key,
    name_key,
    postal_code_key,
    strict_key,
)

KeyFunction = Callable[[str], str]

RULES: MappingProxyType[str, KeyFunction] = MappingProxyType(
    {
        # identity document
        "idDocument": identifier_key,
        "idDocumentType": code_key,
        "idDocumentExpiryDate": exact_key,
        # person names
        "name": full_name_key,
        "givenName": name_key,
        "familyName": name_key,
        "middleNames": name_key,
        "familyNameAtBirth": name_key,
        "nameKanaHankaku": kana_key,
        "nameKanaZenkaku": kana_key,
        # address
        "address": address_key,
        "streetName": address_key,
        "streetNumber": address_key,
        "houseNumberExtension": address_key,
        "postalCode": postal_code_key,
        "region": name_key,
        "locality": name_key,
        "country": code_key,
        # person
        "birthdate": exact_key,
        "email": email_key,
        "gender": code_key,
        "cityOfBirth": name_key,
        "countryOfBirth": code_key,
        "nationality": code_key,
    }
)

# An attribute this table does not know (a newer spec, a typo upstream) is still compared, strictly.
DEFAULT_RULE: KeyFunction = strict_key
