"""No test lets time pass by sleeping (#28 item 5): the code under test takes its clock and `sleep`,
and a test moves a ManualClock. What remains is documented on its line: a bounded poll of a
subprocess (it has no event to wait on across processes), or the fault a test server plays."""

import re
from pathlib import Path

TESTS = Path(__file__).parents[1]
SLEEP = re.compile(r"\btime\.sleep\(")
DOCUMENTED = re.compile(r"#.*(bounded poll|the fault itself)")


def test_every_sleep_left_in_the_tests_is_a_documented_case() -> None:
    undocumented = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        if path != Path(__file__)  # its own examples below
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SLEEP.search(line) and not DOCUMENTED.search(line)
    ]
    assert undocumented == [], "sleeps in tests: use a ManualClock or an Event, or document the poll"


def test_the_check_sees_an_undocumented_sleep() -> None:
    assert SLEEP.search("    time.sleep(1.0)") and not DOCUMENTED.search("    time.sleep(1.0)")
    assert DOCUMENTED.search("    time.sleep(0.2)  # bounded poll: a subprocess starting to listen")
