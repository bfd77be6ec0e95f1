"""Helpers shared by the test suite: the contract, transports, test data."""
