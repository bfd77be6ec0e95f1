"""Clients' onboarding records (purposes): where they are kept."""
