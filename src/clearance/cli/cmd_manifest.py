"""CLI: `clearance manifest` (being built; registers nothing yet)."""
