"""Retired (#13): the daily digests gave way to the witness (audit/witness.py, jobs/witness.py).

Only the stack's digest bucket still imports this prefix; it goes with the digest function when the
infrastructure of the witness lands (branch witness-infra).
"""

PREFIX = "digests/"
