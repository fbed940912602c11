"""``python -m clearance`` runs the CLI."""

from clearance.cli import main

main()
