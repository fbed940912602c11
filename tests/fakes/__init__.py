"""Test doubles shared by every test box (import as ``fakes.…``; ``tests/`` is on pytest's pythonpath)."""
