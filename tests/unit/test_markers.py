"""The `slow` and `network` markers are given by path (tests/support/markers.py): a renamed or moved module
must not silently drop out of them, and a path names a folder, a module or one test of a module."""

from dataclasses import dataclass
from pathlib import Path

from support.markers import NETWORK_PATHS, SLOW_PATHS, TESTS, under


@dataclass
class Collected:  # what under reads of a pytest.Item
    path: Path
    name: str


def test_every_marked_path_names_a_test_folder_module_or_test() -> None:
    for path in (*SLOW_PATHS, *NETWORK_PATHS):
        module, _, name = path.partition("::")
        found = TESTS / module
        assert found.exists(), f"{path}: no such folder or module under tests/"
        if name:
            assert f"def {name}(" in found.read_text(encoding="utf-8"), f"{path}: no such test"


def test_a_path_marks_its_folder_its_module_or_its_one_test() -> None:
    witness = TESTS / "integration/test_audit_witness.py"
    assert under(Collected(TESTS / "infra/test_bundling.py", "test_x"), SLOW_PATHS)  # type: ignore[arg-type]
    assert under(Collected(TESTS / "infra/test_bundling.py", "test_x[a]"), NETWORK_PATHS)  # type: ignore[arg-type]
    seals = Collected(witness, "test_serve_seals_the_stream_by_itself_within_its_window")
    assert under(seals, SLOW_PATHS)  # type: ignore[arg-type]
    assert not under(Collected(witness, "test_flush_seals"), SLOW_PATHS)  # type: ignore[arg-type]
    assert not under(Collected(TESTS / "unit/test_cli.py", "test_x"), SLOW_PATHS)  # type: ignore[arg-type]
