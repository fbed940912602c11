"""Imports every command module so that each registers itself on the app.

To add a command: create ``clearance/cli/<name>.py`` that decorates functions with ``@app.command()``
and add it to the import list below.
Every module here loads for ``clearance --help``, so each imports its library modules inside the command
functions (only what option declarations need stays at the top; see ``tests/core/test_cli_startup.py``).
"""

from __future__ import annotations

import importlib

COMMAND_MODULES = [
    "serve",
    "plan",
    "cost",
    "manifest",
    "scan",
    "eval",
    "datasets",
    "loadtest",
    "vet",
    "dossier",
    "sign",
    "bom",
    "registry",
    "compare",
    "policy",
    "web",
]

for _name in COMMAND_MODULES:
    importlib.import_module(f"clearance.cli.cmd_{_name}")
