"""CLI: `clearance plan` (being built; registers nothing yet)."""
