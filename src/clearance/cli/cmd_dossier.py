"""CLI: `clearance dossier` (being built; registers nothing yet)."""
