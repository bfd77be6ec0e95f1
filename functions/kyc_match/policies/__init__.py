"""Client risk policies: where they are kept."""
