"""CLI: `clearance scan` (being built; registers nothing yet)."""
