"""The reviewers' web app over the registry: ``clearance web``.

Public surface: ``create_app(registry=None, *, reg=None, people=None, clock=None)`` (a Starlette ASGI app)
and ``People`` (accounts, sessions, throttling and the web log, stored in the registry's database).
Needs the ``web`` extra: ``pip install 'clearance[web]'``.
"""

from __future__ import annotations

from clearance.web.app import create_app, safe_next
from clearance.web.people import WEB_ROLES, LoginRefused, People, Person

__all__ = ["WEB_ROLES", "LoginRefused", "People", "Person", "create_app", "safe_next"]
