"""CLI: ``clearance registry init|enrol|revoke|keys|add|list|show|status|verify|export|config``,
``clearance signoff``, ``clearance waive``, ``clearance withdraw``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from clearance.cli.app import app
from clearance.cli.output import JsonOption, console, emit_json, err_console
from clearance.errors import InputError
from clearance.inert import inert, inert_text
from clearance.registry.names import DEFAULT_APPROVAL_DAYS, ENV_VAR, KEY_ENV_VAR, KEY_ROLES, ROLES

if TYPE_CHECKING:
    from clearance.registry import LedgerVerifyResult, RunStatus

registry_app = typer.Typer(
    name="registry",
    help=(
        "Enrol reviewers' keys (registry init, enrol), register sealed dossiers, follow sign-offs, vetoes and "
        "waivers to a final status, and audit the ledger and its signed checkpoint. Store: a SQLite file "
        "(default ./clearance-registry.db) or a PostgreSQL URL."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(registry_app, name="registry")

RegistryOpt = Annotated[
    str | None,
    typer.Option(
        "--registry",
        envvar=ENV_VAR,
        help="SQLite file or URL (postgresql+psycopg://user@host/db). Default ./clearance-registry.db.",
        show_envvar=True,
    ),
]
RegistryKeyOpt = Annotated[
    Path | None,
    typer.Option(
        "--registry-key",
        envvar=KEY_ENV_VAR,
        help="The registry's own private key (signs a checkpoint at every write). Default for SQLite: "
        "the file DB.key beside the database.",
        show_envvar=True,
    ),
]
AdminKeyOpt = Annotated[Path, typer.Option("--admin-key", help="An enrolled admin's PEM private key.")]
RunArg = Annotated[
    str, typer.Argument(help="Run id (from registry list) or 8+ hex digits of its dossier digest.")
]

_STYLE = {
    "approved": "bold green",
    "rejected": "bold red",
    "needs_review": "bold yellow",
    "pending_signoff": "bold yellow",
    "expired": "bold magenta",
}
_EXIT = {"approved": 0, "rejected": 1}


def _style(s: str) -> str:
    return f"[{_STYLE.get(s, 'bold')}]{inert(s)}[/]"


def _roles(values: list[str] | None) -> list[str] | None:
    """Roles from repeated or comma-separated options; None when the option was not given at all."""
    if values is None or values == []:
        return None
    out: list[str] = []
    for v in values:
        out += [r.strip() for r in v.split(",") if r.strip()]
    if not out:
        raise InputError("--require cannot be empty: at least one review role must sign every run")
    return out


@registry_app.command("init")
def init(
    admin: Annotated[str, typer.Option("--admin", help="The first admin's name (who enrols everyone else).")],
    admin_key: AdminKeyOpt,
    registry: RegistryOpt = None,
    registry_key: RegistryKeyOpt = None,
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require", help=f"Roles every run needs signed ({', '.join(ROLES)}); default security,ml."
        ),
    ] = None,
    approval_days: Annotated[
        int, typer.Option("--approval-days", help="Approvals expire after this many days (1..3660).")
    ] = DEFAULT_APPROVAL_DAYS,
    separation: Annotated[
        bool,
        typer.Option(
            "--separation-of-duties/--no-separation-of-duties",
            help="The submitter and waiver authors cannot approve; one person approves in one role.",
        ),
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Create a registry: its own key, the first admin (bootstrap, self-signed) and the settings.

    A SQLite registry gets a new Ed25519 key beside it (DB.key, mode 0600) unless --registry-key is
    given; a PostgreSQL registry needs --registry-key (make one with clearance keygen DIR --kind ed25519).

    Example: [bold]clearance registry init --admin erin --admin-key keys/erin.key[/]
    """
    from clearance.registry import Registry

    kwargs = {"required_roles": _roles(require)} if require else {}
    with Registry.init(
        registry,
        admin=admin,
        admin_key=admin_key,
        key=registry_key,
        approval_days=approval_days,
        separation_of_duties=separation,
        **kwargs,  # type: ignore[arg-type]
    ) as reg:
        st = reg.settings()
        enr = reg.enrolments()
        cp = reg.checkpoint()
    if as_json:
        emit_json({"registry": reg.where, "settings": st, "admin": enr[0], "checkpoint": cp})
        return
    console.print(
        f"created registry {inert(reg.where)}; registry key sha256:{cp.registry_fingerprint if cp else '?'}",
        soft_wrap=True,
    )
    console.print(
        f"admin {inert(enr[0].person)} enrolled with key sha256:{enr[0].fingerprint}", soft_wrap=True
    )
    console.print(
        f"every run needs: {', '.join(st.required_roles)}; approvals valid {st.approval_days} days; "
        f"separation of duties {'on' if st.separation_of_duties else 'off'}"
    )


@registry_app.command("enrol")
def enrol(
    public_key: Annotated[Path, typer.Argument(help="The person's PEM public key (or certificate).")],
    person: Annotated[str, typer.Option("--person", help="Who holds the key.")],
    role: Annotated[
        list[str],
        typer.Option(
            "--role", help=f"Role(s) of the key: {', '.join(KEY_ROLES)} (repeat or comma-separate)."
        ),
    ],
    admin_key: AdminKeyOpt,
    registry: RegistryOpt = None,
    registry_key: RegistryKeyOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Bind a key to a person and roles (signed by an admin; recorded in the ledger).

    Only enrolled keys count: a sign-off or waiver from a key not enrolled for its role is refused, and a
    dossier is trusted only when its signing key is enrolled as run-signer.

    Example: [bold]clearance registry enrol keys/alice.pub --person alice --role security --admin-key keys/erin.key[/]
    """
    from clearance.registry import Registry

    roles = [r.strip() for v in role for r in v.split(",") if r.strip()]
    with Registry(registry, key=registry_key) as reg:
        e = reg.enrol(public_key, person=person, roles=roles, by=admin_key)
    if as_json:
        emit_json(e)
        return
    console.print(
        f"enrolled {inert(e.person)} as {', '.join(e.roles)}: key sha256:{e.fingerprint} "
        f"(by {inert(e.enrolled_by_person)}, entry {e.ledger_seq})",
        soft_wrap=True,
    )


@registry_app.command("revoke")
def revoke(
    key: Annotated[str, typer.Argument(help="The key's sha256 fingerprint, or its public key file.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (lost, left the company…); signed.")],
    admin_key: AdminKeyOpt,
    registry: RegistryOpt = None,
    registry_key: RegistryKeyOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke an enrolled key: from now on it counts for nothing (what it signed before keeps counting).

    Example: [bold]clearance registry revoke sha256:4b2cd544… --reason "laptop lost" --admin-key keys/erin.key[/]
    """
    from clearance.registry import Registry

    ref: str | Path = Path(key) if Path(key).is_file() else key
    with Registry(registry, key=registry_key) as reg:
        e = reg.revoke(ref, by=admin_key, reason=reason)
    if as_json:
        emit_json(e)
        return
    console.print(f"revoked key sha256:{e.fingerprint} of {inert(e.person)} (entry {e.revoked_seq})")


@registry_app.command("keys")
def keys_cmd(registry: RegistryOpt = None, as_json: JsonOption = False) -> None:
    """List enrolled keys: person, roles, who enrolled them, revocations.

    Example: [bold]clearance registry keys[/]
    """
    from clearance.registry import Registry

    with Registry(registry) as reg:
        rows = reg.enrolments()
    if as_json:
        emit_json({"enrolments": rows})
        return
    table = Table(title=f"keys enrolled in {inert(reg.where)}")
    for col in ("person", "roles", "fingerprint", "enrolled", "by", "revoked"):
        table.add_column(col)
    for e in rows:
        table.add_row(
            inert(e.person),
            ", ".join(e.roles),
            e.fingerprint[:16] + "…",
            e.enrolled_at,
            inert(e.enrolled_by_person),
            f"{e.revoked_at} ({inert(e.revoke_reason or '')})" if e.revoked_at else "",
        )
    console.print(table)


@registry_app.command("add")
def add(
    dossier_dir: Annotated[
        Path, typer.Argument(help="A sealed dossier directory (the --out of clearance vet).")
    ],
    registry: RegistryOpt = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who registers it (default: your user name).")
    ] = None,
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require", help="Roles this run needs besides the registry's floor (repeat or comma-separate)."
        ),
    ] = None,
    approval_days: Annotated[
        int | None,
        typer.Option(
            "--approval-days", help="Approvals expire after this many days (at most the registry's)."
        ),
    ] = None,
    untrusted: Annotated[
        bool,
        typer.Option(
            "--untrusted",
            help="Register a dossier whose signer is not an enrolled run-signer; never approvable.",
        ),
    ] = False,
    registry_key: RegistryKeyOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Verify a dossier's signature and digests, then register it as a run (a tampered dossier is refused).

    The dossier's signing key must be enrolled as run-signer (its person is the run's submitter).

    Example: [bold]clearance registry add clearance-runs/smollm2-20261129T101500Z[/]
    """
    from clearance.registry import Registry

    with Registry(registry, key=registry_key) as reg:
        run = reg.add(
            dossier_dir,
            registered_by=by,
            required_roles=_roles(require),
            approval_days=approval_days,
            allow_untrusted=untrusted,
        )
    if as_json:
        emit_json(run)
        return
    console.print(
        f"registered run [bold]{run.id}[/]: {inert(run.title)} — policy decision {_style(run.decision)}",
        soft_wrap=True,
    )
    console.print(f"dossier digest sha256:{run.dossier_digest}", soft_wrap=True)
    signer = (
        f"signed by run-signer {inert(run.signer_person or '')}"
        if run.signer_trusted
        else "[bold red]UNTRUSTED[/] signer (never approvable)"
    )
    console.print(f"{signer}, key sha256:{run.dossier_signer}", soft_wrap=True)
    console.print(
        f"required sign-offs: {', '.join(run.required_roles)}; registry {inert(reg.where)}", soft_wrap=True
    )


@registry_app.command("list")
def list_runs(registry: RegistryOpt = None, as_json: JsonOption = False) -> None:
    """List registered runs with their policy decision and final status.

    Example: [bold]clearance registry list --registry /srv/clearance/registry.db[/]
    """
    from clearance.registry import Registry

    with Registry(registry) as reg:
        rows = reg.statuses()
    if as_json:
        emit_json({"runs": [{**r.model_dump(mode="json"), "status": st.status} for r, st in rows]})
        return
    table = Table(title=f"runs in {inert(reg.where)}")
    for col in ("id", "model", "registered", "policy", "status", "digest"):
        table.add_column(col)
    for r, st in rows:
        table.add_row(
            str(r.id),
            inert_text(r.model_name),
            inert_text(r.registered_at[:10]),
            _style(r.decision),
            _style(st.status),
            inert_text(r.dossier_digest[:12]),
        )
    console.print(table)


@registry_app.command("show")
def show(run: RunArg, registry: RegistryOpt = None, as_json: JsonOption = False) -> None:
    """Show one run: dossier, decision, gates needing review, sign-offs and waivers (signatures checked).

    Example: [bold]clearance registry show 1[/]
    """
    from clearance.registry import Registry, SignOffInfo, WaiverInfo

    with Registry(registry) as reg:
        info = reg.run(run)
        signoffs, waivers = reg.signoffs(info.id), reg.waivers(info.id)
    if as_json:
        emit_json({"run": info, "signoffs": signoffs, "waivers": waivers})
        return
    console.print(f"[bold]run {info.id}[/]: {inert(info.title)}", soft_wrap=True)
    console.print(f"  model        {inert(info.model_name)} ({inert(info.model_digest)})", soft_wrap=True)
    console.print(f"  dossier      {inert(info.dossier_path)}", soft_wrap=True)
    console.print(f"  digest       sha256:{inert(info.dossier_digest)}", soft_wrap=True)
    console.print(f"  decision     {_style(info.decision)} by policy {inert(info.policy)}", soft_wrap=True)
    console.print(f"  review gates {inert(', '.join(info.review_gates) or 'none')}", soft_wrap=True)
    console.print(f"  reject gates {inert(', '.join(info.reject_gates) or 'none')}", soft_wrap=True)
    console.print(
        f"  sign-offs by {', '.join(info.required_roles)}; approvals valid {info.approval_days} days"
    )
    console.print(
        f"  unmeasured   {inert(', '.join(info.unmeasured_gates) or 'none')} (not waivable)", soft_wrap=True
    )
    signer = (
        f"run-signer {inert(info.signer_person or '')}" if info.signer_trusted else "[bold red]UNTRUSTED[/]"
    )
    console.print(f"  signed by    {signer} (key sha256:{info.dossier_signer})", soft_wrap=True)
    console.print(
        f"  separation   {'on' if info.separation_of_duties else 'off'} (submitter and waiver authors cannot approve)"
    )
    console.print(f"  registered   {info.registered_at} by {inert(info.registered_by)}", soft_wrap=True)

    def counted(x: SignOffInfo | WaiverInfo) -> str:
        return "yes" if x.counts else f"[red]no[/]: {inert(x.problem or 'invalid signature')}"

    if signoffs:
        t = Table(title="sign-offs")
        for col in ("id", "role", "decision", "signer", "signed at", "counts", "comment"):
            t.add_column(col)
        for s in signoffs:
            decision = s.decision + (" (withdrawn)" if s.withdrawn else "")
            t.add_row(str(s.id), s.role, decision, inert(s.signer), s.signed_at, counted(s), inert(s.comment))
        console.print(t)
    if waivers:
        t = Table(title="waivers")
        for col in ("id", "gate", "role", "expires", "approver", "counts", "reason"):
            t.add_column(col)
        for w in waivers:
            t.add_row(
                str(w.id), inert(w.gate), w.role, w.expires, inert(w.approver), counted(w), inert(w.reason)
            )
        console.print(t)


def _as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--as-of must be a date or ISO time, got {text!r}") from exc
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _print_status(st: RunStatus) -> None:
    console.print(f"run {st.run_id}: {_style(st.status)} (as of {st.as_of})")
    console.print(f"  policy decision {st.policy_decision}; with waivers {st.effective_decision}")
    for r in st.roles:
        who = f" by {inert(r.signer)} on {r.signed_at}" if r.signer else ""
        console.print(f"  role {inert(f'{r.role:<9}')} {inert(r.state)}{who}", soft_wrap=True)
    for g in st.gates:
        extra = f" (waiver {g.waiver_id}, expires {g.expires})" if g.waiver_id else ""
        console.print(f"  gate {inert(f'{g.gate:<30}')} {inert(g.state)}{inert(extra)}", soft_wrap=True)
    for reason in st.reasons:
        console.print(f"  - {inert(reason)}", soft_wrap=True)
    for flag in st.flags:
        console.print(f"  [yellow]! {inert(flag)}[/]", soft_wrap=True)


@registry_app.command("status")
def status(
    run: RunArg,
    registry: RegistryOpt = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Judge expiries at this date/time (UTC) instead of now.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The final status: policy decision, waivers of needs-review gates, required sign-offs, expiries.

    Status is one of approved, rejected, needs_review, pending_signoff, expired.
    Exit status: 0 approved, 1 rejected, 3 anything else (needs review, pending sign-off, expired).

    Example: [bold]clearance registry status 1 --as-of 2027-06-01[/]
    """
    from clearance.registry import Registry

    with Registry(registry) as reg:
        st = reg.status(run, as_of=_as_of(as_of))
    if as_json:
        emit_json(st)
    else:
        _print_status(st)
    raise typer.Exit(_EXIT.get(st.status, 3))


def _print_verify(res: LedgerVerifyResult, what: str) -> None:
    if res.ok:
        console.print(
            f"[bold green]OK[/] {inert(what)}: {res.entries} ledger entries chain correctly, "
            f"{res.signatures_checked} signatures verify, the registry key's checkpoint covers entry "
            f"{res.checkpoint.seq if res.checkpoint else '?'}",
            soft_wrap=True,
        )
    else:
        console.print(f"[bold red]FAILED[/] {inert(what)}: {len(res.problems)} problem(s)", soft_wrap=True)
        for p in res.problems[:30]:
            parts = [f"entry {p.seq}" if p.seq is not None else "", f"({p.record})" if p.record else ""]
            where = " ".join(x for x in parts if x)
            console.print(f"  {inert(where)}: {inert(p.problem)}", soft_wrap=True)
    if res.registry_fingerprint:
        console.print(f"registry key sha256:{res.registry_fingerprint}", soft_wrap=True)
    console.print(
        f"head {res.head_seq}:{res.head_hash}  (a copy kept outside also catches a restored old backup: "
        "--expect-head)",
        soft_wrap=True,
    )


@registry_app.command("verify")
def verify(
    registry: RegistryOpt = None,
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head", help="SEQ:SHA256 head noted earlier; fails if history was rewritten or cut."
        ),
    ] = None,
    export: Annotated[
        Path | None, typer.Option("--export", help="Verify this export file offline instead of a registry.")
    ] = None,
    registry_fingerprint: Annotated[
        str | None,
        typer.Option("--registry-fingerprint", help="With --export: the registry key's sha256 you know."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check the ledger's hash chain, the registry key's checkpoint of its head (entries cut from the end),
    every signed entry (enrolments, settings, sign-offs, waivers, withdrawals) and every row against the ledger.

    Exit status: 0 everything holds; 1 a problem was found (each names the ledger entry or record); 2 error.

    Example: [bold]clearance registry verify --expect-head 12:3f1c…[/]   or   [bold]clearance registry verify --export run-1.json[/]
    """
    from clearance.registry import Registry, verify_export, verify_registry

    if export is not None:
        fp = registry_fingerprint.lower().removeprefix("sha256:") if registry_fingerprint else None
        res = verify_export(export, expect_head=expect_head, registry_fingerprint=fp)
        what = str(export)
    else:
        with Registry(registry) as reg:
            res = verify_registry(reg, expect_head=expect_head)
        what = res.registry
    if as_json:
        emit_json(res)
    else:
        _print_verify(res, what)
    raise typer.Exit(0 if res.ok else 1)


@registry_app.command("export")
def export(
    run: RunArg,
    out: Annotated[Path, typer.Option("--out", help="The JSON file to write.")],
    registry: RegistryOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Write one run, its signed sign-offs and waivers (with public keys) and the ledger to a JSON file.

    An auditor checks it offline with [bold]clearance registry verify --export FILE[/].

    Example: [bold]clearance registry export 1 --out run-1-approval.json[/]
    """
    from clearance.registry import Registry, export_run

    with Registry(registry) as reg:
        data = export_run(reg, run)
    if out.exists():
        raise InputError(f"refusing to overwrite {out}")
    if not out.parent.is_dir():
        raise InputError(f"output directory does not exist: {out.parent}")
    out.write_text(data.model_dump_json(indent=2, by_alias=True) + "\n", "utf-8")
    summary = {
        "out": str(out),
        "run_id": data.run.id,
        "status": data.status.status,
        "signoffs": len(data.signoffs),
        "waivers": len(data.waivers),
        "ledger_entries": len(data.ledger),
        "head": f"{data.head_seq}:{data.head_hash}",
        "checkpoint": data.checkpoint.seq if data.checkpoint else None,
    }
    if as_json:
        emit_json(summary)
    else:
        console.print(
            f"wrote {out}: run {data.run.id} ({_style(data.status.status)}), {len(data.signoffs)} sign-offs, "
            f"{len(data.waivers)} waivers, {len(data.ledger)} ledger entries; head {summary['head']}",
            soft_wrap=True,
        )


@registry_app.command("config")
def config(
    registry: RegistryOpt = None,
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require",
            help=f"Roles every new run needs ({', '.join(ROLES)}; repeat or comma-separate; never empty).",
        ),
    ] = None,
    approval_days: Annotated[
        int | None, typer.Option("--approval-days", help="Approvals expire after this many days (1..3660).")
    ] = None,
    separation: Annotated[
        bool | None,
        typer.Option(
            "--separation-of-duties/--no-separation-of-duties",
            help="The submitter and waiver authors cannot approve; one person approves in one role.",
        ),
    ] = None,
    admin_key: Annotated[
        Path | None,
        typer.Option("--admin-key", help="An enrolled admin's PEM private key (to change settings)."),
    ] = None,
    registry_key: RegistryKeyOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Show or change the registry's settings for new runs (a change is signed by an admin, in the ledger).

    Default: security and ml must sign off; approvals are valid 365 days; separation of duties on.

    Example: [bold]clearance registry config --require security,ml,legal --approval-days 180 --admin-key keys/erin.key[/]
    """
    from clearance.registry import Registry

    roles = _roles(require)
    changing = roles is not None or approval_days is not None or separation is not None
    with Registry(registry, key=registry_key) as reg:
        if changing:
            if admin_key is None:
                raise InputError("changing settings needs --admin-key (an enrolled admin's private key)")
            settings = reg.configure(
                by=admin_key,
                required_roles=roles,
                approval_days=approval_days,
                separation_of_duties=separation,
            )
        else:
            settings = reg.settings()
    if as_json:
        emit_json(settings)
    else:
        console.print(
            f"required roles: {', '.join(settings.required_roles)}; approvals valid "
            f"{settings.approval_days} days; separation of duties "
            f"{'on' if settings.separation_of_duties else 'off'} ({inert(reg.where)})",
            soft_wrap=True,
        )


@app.command("signoff")
def signoff(
    run: RunArg,
    role: Annotated[str, typer.Option("--role", help=f"Your role: {', '.join(ROLES)}.")],
    key: Annotated[Path, typer.Option("--key", help="Your enrolled PEM private key (Ed25519 or ECDSA).")],
    reject: Annotated[
        bool, typer.Option("--reject", help="Reject (a veto: stands until your role withdraws it).")
    ] = False,
    comment: Annotated[str, typer.Option("--comment", help="Why; stored and signed.")] = "",
    by: Annotated[
        str | None, typer.Option("--by", help="Your name; must match the key's enrolment (default: from it).")
    ] = None,
    registry: RegistryOpt = None,
    registry_key: RegistryKeyOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Sign off a registered run for one role: a signature over the run's dossier digest, recorded in the ledger.

    The key must be enrolled for the role. With separation of duties, the run's submitter and the authors
    of its waivers cannot approve it, and one person approves in one role only.

    Example: [bold]clearance signoff 1 --role security --key ~/.keys/alice.key --comment "scan clean"[/]
    """
    from clearance.registry import Registry

    with Registry(registry, key=registry_key) as reg:
        s = reg.sign_off(
            run, role=role, key=key, decision="reject" if reject else "approve", comment=comment, signer=by
        )
        st = reg.status(s.run_id)
    if as_json:
        emit_json({"signoff": s, "status": st.status})
        return
    verb = "[red]rejected[/]" if reject else "[green]approved[/]"
    console.print(
        f"sign-off {s.id}: {inert(s.signer)} ({s.role}) {verb} run {s.run_id} — key {s.fingerprint[:16]}…",
        soft_wrap=True,
    )
    console.print(f"run {s.run_id} is now {_style(st.status)}")


@app.command("waive")
def waive(
    run: RunArg,
    gate: Annotated[
        str, typer.Option("--gate", help="The id of a failed gate that needs review in this run.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why the gate may pass; stored and signed.")],
    expires: Annotated[
        str, typer.Option("--expires", help="YYYY-MM-DD; the waiver ends at 00:00 UTC that day.")
    ],
    key: Annotated[Path, typer.Option("--key", help="The approver's enrolled PEM private key.")],
    role: Annotated[
        str | None,
        typer.Option("--role", help="The role you waive in (default: your key's only review role)."),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Approver's name; must match the key's enrolment.")
    ] = None,
    registry: RegistryOpt = None,
    registry_key: RegistryKeyOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Waive one needs-review gate of a run until a date.

    A rejecting gate, or one whose evidence is missing (unmeasured), cannot be waived. With separation of
    duties, whoever waives a gate of a run cannot approve that run.

    Example: [bold]clearance waive 1 --gate fits-hardware --reason "runs on the H200 pool" --expires 2027-03-01 --key bob.key[/]
    """
    from clearance.registry import Registry

    with Registry(registry, key=registry_key) as reg:
        w = reg.waive(run, gate=gate, reason=reason, expires=expires, key=key, role=role, approver=by)
        st = reg.status(w.run_id)
    if as_json:
        emit_json({"waiver": w, "status": st.status})
        return
    console.print(
        f"waiver {w.id}: gate {inert(w.gate)} of run {w.run_id} passes until {w.expires} "
        f"({inert(w.approver)}, {w.role})",
        soft_wrap=True,
    )
    console.print(f"run {w.run_id} is now {_style(st.status)}")
    if st.status == "needs_review":
        open_gates = [g.gate for g in st.gates if g.state != "waived"]
        err_console.print(f"still open: {inert(', '.join(open_gates))}")


@app.command("withdraw")
def withdraw(
    signoff_id: Annotated[
        int, typer.Argument(help="The id of the veto (a reject sign-off) to withdraw.", min=1)
    ],
    key: Annotated[Path, typer.Option("--key", help="A PEM private key enrolled for the veto's role.")],
    comment: Annotated[str, typer.Option("--comment", help="Why; stored and signed.")] = "",
    registry: RegistryOpt = None,
    registry_key: RegistryKeyOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Withdraw a veto: a key enrolled for the same role signs the withdrawal, recorded in the ledger.

    Example: [bold]clearance withdraw 3 --key keys/dave.key --comment "budget approved"[/]
    """
    from clearance.registry import Registry

    with Registry(registry, key=registry_key) as reg:
        wd = reg.withdraw(signoff_id, key=key, comment=comment)
        st = reg.status(wd.run_id)
    if as_json:
        emit_json({"withdrawal": wd, "status": st.status})
        return
    console.print(
        f"veto {wd.signoff_id} ({wd.role}) of run {wd.run_id} withdrawn by {inert(wd.signer)}",
        soft_wrap=True,
    )
    console.print(f"run {wd.run_id} is now {_style(st.status)}")
