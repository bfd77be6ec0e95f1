"""Ported-numbers files: numbers ported away from their prefix's operator, checked, hashed, loaded.

CSV with a header row `phoneNumber,operatorId`. Every row is checked (E.164 number, configured
operator id, no number twice) before anything is written; errors name the line and the column,
never the value. Each number is stored as its KMS keyed hash (the audit trail's key), never in clear.
Used by `kyc-match ported-numbers load` and by `kyc-match serve --ported-numbers`.
"""

import csv
import re
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kyc_match.domain.ports import IdentifierHasher
    from kyc_match.settings import Settings

E164 = re.compile(r"^\+[1-9][0-9]{4,14}$")
COLUMNS = ("phoneNumber", "operatorId")


class PortedNumbersFileError(ValueError):
    pass


def read_ported_numbers(path: Path, known_operators: Collection[str]) -> list[tuple[str, str]]:
    """The rows of a ported-numbers CSV, validated; raises PortedNumbersFileError naming the line."""
    rows: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8-sig", newline="") as source:
        reader = csv.DictReader(source)
        if tuple(name.strip() for name in reader.fieldnames or ()) != COLUMNS:
            raise PortedNumbersFileError(f"{path.name}: the header must be {','.join(COLUMNS)}")
        for row in reader:
            line = reader.line_num
            number = (row.get("phoneNumber") or "").strip()
            operator_id = (row.get("operatorId") or "").strip()
            if not E164.fullmatch(number):
                raise PortedNumbersFileError(f"{path.name} line {line}: phoneNumber is not an E.164 number")
            if operator_id not in known_operators:
                raise PortedNumbersFileError(
                    f"{path.name} line {line}: operatorId is not a configured operator "
                    f"(known: {', '.join(sorted(known_operators))})"
                )
            if number in seen:
                raise PortedNumbersFileError(
                    f"{path.name} line {line}: phoneNumber already listed on line {seen[number]}"
                )
            seen[number] = line
            rows.append((number, operator_id))
    return rows


def load_ported_numbers(rows: Iterable[tuple[str, str]], table: Any, hasher: "IdentifierHasher") -> int:
    from kyc_match.operators.ported import NUMBER_HASH, ported_item  # noqa: PLC0415

    count = 0
    with table.batch_writer(overwrite_by_pkeys=[NUMBER_HASH]) as batch:
        for number, operator_id in rows:
            batch.put_item(Item=ported_item(hasher, number, operator_id))
            count += 1
    return count


def load_file(path: Path, operator_ids: Collection[str], settings: "Settings") -> int:
    """Validate the whole file, then hash and load it into the settings' ported-numbers table (AWS, or
    AWS_ENDPOINT_URL), with the adapters the function routes with."""
    from kyc_match import wiring  # noqa: PLC0415

    rows = read_ported_numbers(path, operator_ids)
    table = wiring.ported_numbers_table(settings)
    return load_ported_numbers(rows, table, wiring.identifier_hasher(settings))
