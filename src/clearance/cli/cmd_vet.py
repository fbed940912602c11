"""CLI: `clearance vet` (being built; registers nothing yet)."""
