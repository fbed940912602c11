"""CLI: ``clearance web`` (serve the reviewers' app) and ``clearance web user add|disable|reset|list``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from clearance.cli.app import app
from clearance.cli.output import JsonOption, console, emit_json, err_console
from clearance.errors import InputError
from clearance.registry.db import ENV_VAR

web_app = typer.Typer(
    name="web",
    help=(
        "The reviewers' web app over the registry: runs, evidence, samples, sign-offs and waivers signed "
        "with each person's own key, the audit log. Needs: pip install 'clearance\\[web]'."
    ),
    invoke_without_command=True,
    rich_markup_mode="rich",
)
user_app = typer.Typer(
    name="user",
    help=(
        "Accounts of the web app (administrator, non-interactive): add, disable, reset, list; each takes "
        "--json. Example: printf '%s' \"$PW\" | clearance web user add alice --role security "
        "--password-stdin --admin-key admin.key --json"
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)
web_app.add_typer(user_app, name="user")
app.add_typer(web_app, name="web")

AdminKeyOpt = Annotated[
    Path | None,
    typer.Option(
        "--admin-key",
        envvar="CLEARANCE_ADMIN_KEY",
        help="An enrolled admin key of the registry: it signs the enrolment (or revocation) of the person's key.",
        show_envvar=True,
    ),
]
KeyFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        help=(
            "Sign with the key in this PEM file (Ed25519 or ECDSA, as clearance keygen makes) instead of a "
            "new key sealed in the database; the database keeps only its path and fingerprint. Encrypted: "
            "with the person's password as passphrase and a strong key derivation (openssl pkcs8 -topk8 "
            "-scrypt). Not encrypted: it must be chmod 600."
        ),
    ),
]
RegistryOpt = Annotated[
    str | None,
    typer.Option(
        "--registry",
        envvar=ENV_VAR,
        help="SQLite file or URL (postgresql+psycopg://user@host/db). Default ./clearance-registry.db.",
        show_envvar=True,
    ),
]


def _need_web() -> None:
    try:
        import argon2  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise InputError(f"the web app needs {exc.name!r}: pip install 'clearance[web]'") from exc


def _password_from_stdin(flag: bool) -> str:
    if not flag:
        raise InputError(
            "give the password on standard input with --password-stdin (never on the command line)"
        )
    if sys.stdin.isatty():
        raise InputError("--password-stdin reads the password from a pipe or file, not a terminal")
    lines = sys.stdin.read(4096).splitlines()
    return lines[0] if lines else ""


@web_app.callback()
def web(
    ctx: typer.Context,
    registry: RegistryOpt = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)] = 8080,
    tls_cert: Annotated[
        Path | None,
        typer.Option("--tls-cert", help="PEM certificate: serve HTTPS (cookies then get Secure)."),
    ] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key of --tls-cert.")] = None,
) -> None:
    """Serve the reviewers' web app over the registry (the same one the CLI uses).

    Example: [bold]clearance web --registry /srv/clearance/registry.db --host 0.0.0.0 --port 8443 --tls-cert c.pem --tls-key k.pem[/]
    """
    if ctx.invoked_subcommand is not None:
        ctx.ensure_object(dict)
        ctx.obj["registry"] = registry
        return
    _need_web()
    if (tls_cert is None) != (tls_key is None):
        raise InputError("give both --tls-cert and --tls-key, or neither")
    import uvicorn

    from clearance.web import create_app

    application = create_app(registry)
    reg = application.state.web.reg
    if not application.state.web.people.people():
        err_console.print(
            "note: no accounts yet; add one with: echo PASSWORD | clearance web user add NAME --role security "
            "--password-stdin",
            soft_wrap=True,
        )
    scheme = "https" if tls_cert else "http"
    console.print(
        f"serving {scheme}://{host}:{port}/ over registry {reg.where} (Ctrl-C stops)", soft_wrap=True
    )
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level="warning",
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        proxy_headers=False,
        server_header=False,
    )


def _person_json(person: Any) -> dict[str, Any]:
    return {
        "name": person.name,
        "roles": list(person.roles),
        "key_fingerprint": person.key_fingerprint,
        "key_kind": person.key_kind,
        "key_file": person.key_file,
    }


def _registry(ctx: typer.Context, registry: str | None) -> str | None:
    return registry or (ctx.obj or {}).get("registry")


@contextmanager
def _accounts(ctx: typer.Context, registry: str | None) -> Iterator[tuple[Any, Any]]:
    from clearance.web import People
    from clearance.web.enrol import open_registry

    with open_registry(_registry(ctx, registry)) as reg:
        yield reg, People(reg.engine)


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Login name (also the person's name in the registry).")],
    role: Annotated[
        list[str],
        typer.Option("--role", help="security, ml, legal, business or viewer (repeat or comma-separate)."),
    ],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    key_file: KeyFileOpt = None,
    registry: RegistryOpt = None,
    admin_key: AdminKeyOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Create an account with a fresh signing key, sealed under the password (at least 12 characters),
    or with the key in --key-file, and enrol the key in the registry for the account's review roles.

    Example: [bold]printf '%s' "$ALICE_PW" | clearance web user add alice --role security --password-stdin --admin-key admin.key[/]
    """
    _need_web()
    from clearance.web.enrol import add_person

    password = _password_from_stdin(password_stdin)
    with _accounts(ctx, registry) as (reg, people):
        person, enrolled = add_person(reg, people, name, role, password, admin_key, key_file)
    if as_json:
        emit_json(_person_json(person) | {"enrolled_roles": enrolled})
        return
    console.print(
        f"added {person.name} ({', '.join(person.roles)}); signing key {person.key_fingerprint[:16]}…"
        + (f" in key file {person.key_file}" if person.key_file else "")
        + (f" enrolled in the registry for {', '.join(enrolled)}" if enrolled else ""),
        soft_wrap=True,
    )


@user_app.command("reset")
def user_reset(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[
        list[str] | None, typer.Option("--role", help="New roles (default: keep the current ones).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    key_file: KeyFileOpt = None,
    registry: RegistryOpt = None,
    admin_key: AdminKeyOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Set a new password and a new signing key, sealed or the one in --key-file (enrolled; the old key is
    revoked); ends the person's sessions.

    Example: [bold]printf '%s' "$NEW_PW" | clearance web user reset alice --password-stdin --admin-key admin.key[/]
    """
    _need_web()
    from clearance.web.enrol import reset_person

    password = _password_from_stdin(password_stdin)
    with _accounts(ctx, registry) as (reg, people):
        person, enrolled = reset_person(reg, people, name, password, role or None, admin_key, key_file)
    if as_json:
        emit_json(_person_json(person) | {"enrolled_roles": enrolled})
        return
    console.print(
        f"reset {person.name} ({', '.join(person.roles)}); new signing key {person.key_fingerprint[:16]}…"
        + (f" in key file {person.key_file}" if person.key_file else "")
        + "; sessions ended",
        soft_wrap=True,
    )


@user_app.command("disable")
def user_disable(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Login name.")],
    registry: RegistryOpt = None,
    admin_key: AdminKeyOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Disable an account: its sessions end at once and its key's enrolment is revoked.

    Example: [bold]clearance web user disable bob --admin-key admin.key[/]
    """
    _need_web()
    from clearance.web.enrol import disable_person

    with _accounts(ctx, registry) as (reg, people):
        person = disable_person(reg, people, name, admin_key)
    if as_json:
        emit_json({"name": person.name, "disabled": True})
        return
    console.print(f"disabled {person.name}; sessions ended")


@user_app.command("list")
def user_list(ctx: typer.Context, registry: RegistryOpt = None, as_json: JsonOption = False) -> None:
    """List the accounts with their roles, where each key is kept (sealed in the database, or a key
    file) and its fingerprint.

    Example: [bold]clearance web user list --json[/]
    """
    _need_web()
    with _accounts(ctx, registry) as (_reg, people_store):
        people = people_store.people()
    if as_json:
        emit_json({"users": [_person_json(p) | {"disabled": p.disabled} for p in people]})
        return
    for p in people:
        state = "disabled" if p.disabled else "active"
        where = "sealed" if p.key_file is None else f"file {p.key_file}"
        console.print(
            f"{p.name:<20} {','.join(p.roles):<24} {state:<9} {p.key_fingerprint[:16]}… {where}",
            soft_wrap=True,
        )
