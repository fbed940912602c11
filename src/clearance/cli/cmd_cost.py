"""CLI: `clearance cost` (being built; registers nothing yet)."""
