"""Test subscribers and the values the conformance tests send about them.

The records come from the default sandbox set that `kyc-match serve` loads, so the test numbers of docs/api.md
and the tests cannot disagree.
"""

import json
from typing import Any

from kyc_match_tools.local_aws import DEFAULT_SUBSCRIBERS


def _subscribers() -> dict[str, dict[str, Any]]:
    document = json.loads(DEFAULT_SUBSCRIBERS.read_text(encoding="utf-8"))
    return {entry["phoneNumber"]: entry for entry in document["subscribers"]}


SUBSCRIBERS = _subscribers()
FULL = "+34600000001"  # every attribute on file
PARTIAL = "+34600000002"  # name and birthdate only: the rest is not_available
ID_DOCUMENT_REQUIRED = "+34600000003"  # second-level validation on idDocument
NOT_APPLICABLE = "+34600000004"  # a line the service is not offered for
UNKNOWN = "+34600000099"  # served by the sandbox operator, no such subscriber
NOT_SERVED = "+447700900123"  # no configured operator serves +44
JAPANESE = "+81900000001"

ATTRIBUTES = [name for name in SUBSCRIBERS[FULL] if name != "phoneNumber"]
ON_FILE = {name: value for name, value in SUBSCRIBERS[FULL].items() if name != "phoneNumber"}

# Valid values that differ a little from the record: "false" with a high score.
NEAR_MISS = {
    "name": "Federica Sanches Arjona",
    "givenName": "Federika",
    "familyName": "Sanchez Arjano",
    "nameKanaHankaku": "ﾌｪﾃﾞﾘｺ ｻﾝﾁｪｽ ｱﾙﾎﾅ",
    "nameKanaZenkaku": "フェデリコ　サンチェス　アルホナ",
    "middleNames": "Mario",
    "familyNameAtBirth": "Arjano",
    "address": "Calle Nicolas Salmeron 14",
    "streetName": "Nicolas Salmerón Alonso",
    "streetNumber": "41",
    "region": "Madrid Sur",
    "locality": "Chamartinez",
    "email": "federica.sanches@example.com",
    "cityOfBirth": "Sevillana",
}

# Valid values that do not match the record at all, for every attribute.
MISMATCH = {
    "idDocument": "11111111H",
    "idDocumentType": "driver_licence",
    "idDocumentExpiryDate": "2031-01-01",
    "name": "Joaquin Ortega Ruiz",
    "givenName": "Joaquin",
    "familyName": "Ortega Ruiz",
    "nameKanaHankaku": "ﾎｱｷﾝ ｵﾙﾃｶﾞ",
    "nameKanaZenkaku": "ホアキン　オルテガ",
    "middleNames": "Pedro",
    "familyNameAtBirth": "Ruiz",
    "address": "Avenida Diagonal 600",
    "streetName": "Diagonal",
    "streetNumber": "600",
    "postalCode": "08021",
    "region": "Cataluna",
    "locality": "Barcelona",
    "country": "PT",
    "houseNumberExtension": "7C",
    "birthdate": "1961-12-01",
    "email": "joaquin.ortega@example.org",
    "gender": "MALE",
    "cityOfBirth": "Bilbao",
    "countryOfBirth": "FR",
    "nationality": "IT",
}
