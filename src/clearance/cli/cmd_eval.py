"""CLI: `clearance eval` (being built; registers nothing yet)."""
