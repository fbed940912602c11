"""CLI: `clearance serve` (being built; registers nothing yet)."""
