"""The evidence floor: what every ACCEPT needs, whoever wrote the policy.

A full name (`name`, or `givenName` and `familyName` together) and an identity anchor (`idDocument`,
not expired, or `birthdate`) must count: matched exactly, or a near miss of a kind or score the
policy names, at a score of at least MIN_ACCEPT_SCORE. Written as clauses, each of which must hold:
ACCEPT is reachable below the floor exactly when a level can be met with every attribute of one
clause left out. The policy checker proves it for every accepting level (policy_rules.py); the
decision checks it again on every ACCEPT (assess.py), so a policy stored before the floor existed
cannot accept below it either.
"""

from collections.abc import Collection

# Each clause needs at least one of its attributes counted.
FLOOR_CLAUSES: tuple[tuple[str, frozenset[str]], ...] = (
    ("a full name (name, or givenName with familyName)", frozenset({"name", "givenName"})),
    ("a full name (name, or givenName with familyName)", frozenset({"name", "familyName"})),
    ("an identity anchor (idDocument or birthdate)", frozenset({"idDocument", "birthdate"})),
)
# The lowest score an accepting level may count as a near miss (`minScore` in its groups, or on an
# attribute whose near misses it counts).
MIN_ACCEPT_SCORE = 90


def missing_evidence(counted: Collection[str]) -> str | None:
    """What the floor lacks among the attributes that counted, or None when it is met."""
    for needed, clause in FLOOR_CLAUSES:
        if not clause & set(counted):
            return needed
    return None
