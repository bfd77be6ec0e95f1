"""Which tests are `slow` or `network`, by path under tests/ (applied by tests/conftest.py)."""

from pathlib import Path

import pytest

# Marked here, by path under tests/, rather than in each file (`pytest -m "not slow and not network"`
# is the fast part; the default run includes all). `slow`: more than about 5 s on 2 cores, or a start
# that takes that long: the CDK synth, Node servers, `kyc-match serve` with its own moto, a generator,
# a real window. `network`: the package index. tests/unit/test_markers.py checks
# the paths exist.
SLOW_PATHS = (
    "infra/",
    "interop/",
    "fuzz/",
    "docs/test_docs_examples.py",
    "integration/test_cli_local.py",
    "integration/test_e2e_operator_auth.py",
    "integration/test_e2e_operator_lines.py",
    "integration/test_openapi_client.py",
    "integration/test_serve_logs.py",
    "integration/test_audit_witness.py::test_serve_seals_the_stream_by_itself_within_its_window",
)
NETWORK_PATHS = ("infra/test_bundling.py",)
TESTS = Path(__file__).resolve().parent.parent


def under(item: pytest.Item, paths: tuple[str, ...]) -> bool:
    where = item.path.relative_to(TESTS).as_posix()
    node = f"{where}::{item.name.split('[', 1)[0]}"
    return any(where.startswith(path) if "::" not in path else node == path for path in paths)
