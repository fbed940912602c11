"""The administrator's account operations, applied to the web's accounts and to the registry's key
enrolments together: a person's key is bound in the registry to exactly the review roles they hold.

The registry needs an enrolled admin key to sign each enrolment and revocation (``--admin-key``); it
then refuses any sign-off or waiver whose key is not enrolled for that role, whatever the web app
decided, and applies separation of duties.

A person's key is a fresh one sealed in the database, or the key in a PEM file the administrator
names (``key_file``): its public key is enrolled, the database keeps only its path and fingerprint.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clearance.errors import InputError
from clearance.registry import ROLES, Registry
from clearance.signing import PrivateKey, key_fingerprint
from clearance.web.keys import load_key_file
from clearance.web.people import People, Person, check_password

AdminKey = str | Path | PrivateKey | None


def _admin(admin_key: AdminKey) -> Any:
    if admin_key is None:
        raise InputError(
            "enrolling a reviewer's key needs an admin key of the registry: --admin-key FILE "
            "(or $CLEARANCE_ADMIN_KEY), the key given to clearance registry init"
        )
    return admin_key


def enrol_in_registry(reg: Registry, person: Person, admin_key: AdminKey) -> list[str]:
    """Bind the person's current key to their review roles in the registry; the roles bound."""
    roles = [r for r in person.roles if r in ROLES]
    if not roles:
        return []
    reg.enrol(person.public_key, person=person.name, roles=roles, by=_admin(admin_key))
    return roles


def retire_in_registry(reg: Registry, fingerprint: str, admin_key: AdminKey, reason: str) -> bool:
    """Revoke an enrolled key (a disabled or reset person's old key no longer signs)."""
    enrolment = reg.enrolment(fingerprint)
    if enrolment is None or enrolment.revoked_at:
        return False
    reg.revoke(fingerprint, by=_admin(admin_key), reason=reason)
    return True


def _check_key_file(reg: Registry, key_file: str | Path | None, password: str) -> None:
    """Refuse, before any change, a key file that does not open or whose key the registry already knows."""
    if key_file is None:
        return
    fp = key_fingerprint(load_key_file(key_file, check_password(password)))
    known = reg.enrolment(fp)
    if known is not None:
        state = "was enrolled" if known.revoked_at else "is enrolled"
        raise InputError(
            f"the key in {key_file} {state} in the registry already (to {known.person}); a key is enrolled "
            "once: make a new one with clearance keygen"
        )


def add_person(
    reg: Registry,
    people: People,
    name: str,
    roles: Sequence[str],
    password: str,
    admin_key: AdminKey,
    key_file: str | Path | None = None,
) -> tuple[Person, list[str]]:
    """Create an account and enrol its key (new and sealed, or ``key_file``'s) for its review roles
    (the account is removed if that fails)."""
    if any(r.strip() in ROLES for r in ",".join(roles).split(",")):
        _admin(admin_key)
    _check_key_file(reg, key_file, password)
    person = people.add(name, roles, password, key_file)
    try:
        return person, enrol_in_registry(reg, person, admin_key)
    except BaseException:
        people.remove(person.name)
        raise


def reset_person(
    reg: Registry,
    people: People,
    name: str,
    password: str,
    roles: Sequence[str] | None,
    admin_key: AdminKey,
    key_file: str | Path | None = None,
) -> tuple[Person, list[str]]:
    """New password and key (new and sealed, or ``key_file``'s); the new key is enrolled and the old
    one revoked."""
    before = people.get(name)
    if before is None:
        raise InputError(f"no user {name!r} (see clearance web user list)")
    _admin(admin_key)
    _check_key_file(reg, key_file, password)
    person = people.reset(name, password, roles, key_file)
    enrolled = enrol_in_registry(reg, person, admin_key)
    retire_in_registry(reg, before.key_fingerprint, admin_key, f"password reset of {name}")
    return person, enrolled


def disable_person(reg: Registry, people: People, name: str, admin_key: AdminKey) -> Person:
    """Disable an account (sessions end) and revoke its key's enrolment."""
    if people.get(name) is not None:
        _admin(admin_key)
    person = people.disable(name)
    retire_in_registry(reg, person.key_fingerprint, admin_key, f"account {name} disabled")
    return person


def open_registry(location: str | None) -> Registry:
    """The registry the web app and its account commands work on (made by ``clearance registry init``)."""
    return Registry(location)
