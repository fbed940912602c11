"""CLI: `clearance loadtest` (being built; registers nothing yet)."""
