"""CLI: ``clearance registry add|list|show|status|verify|export|config``, ``clearance signoff``, ``clearance waive``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearance.cli.app import app
from clearance.cli.output import JsonOption, console, emit_json, err_console
from clearance.errors import InputError
from clearance.registry import (
    ROLES,
    LedgerVerifyResult,
    Registry,
    RunStatus,
    export_run,
    verify_export,
    verify_registry,
)
from clearance.registry.db import ENV_VAR

registry_app = typer.Typer(
    name="registry",
    help=(
        "Register sealed dossiers, follow sign-offs and waivers to a final status, and audit the "
        "hash-chained ledger. Store: a SQLite file (default ./clearance-registry.db) or a PostgreSQL URL."
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
    return f"[{_STYLE.get(s, 'bold')}]{s}[/]"


def _roles(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    out: list[str] = []
    for v in values:
        out += [r.strip() for r in v.split(",") if r.strip()]
    return out


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
        typer.Option("--require", help="Roles that must sign off this run (repeat or comma-separate)."),
    ] = None,
    approval_days: Annotated[
        int | None, typer.Option("--approval-days", help="Approvals expire after this many days (re-review).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Verify a dossier's signature and digests, then register it as a run (a tampered dossier is refused).

    Example: [bold]clearance registry add clearance-runs/smollm2-20261129T101500Z[/]
    """
    with Registry(registry, create=True) as reg:
        run = reg.add(
            dossier_dir, registered_by=by, required_roles=_roles(require), approval_days=approval_days
        )
    if as_json:
        emit_json(run)
        return
    console.print(
        f"registered run [bold]{run.id}[/]: {run.title} — policy decision {_style(run.decision)}",
        soft_wrap=True,
    )
    console.print(f"dossier digest sha256:{run.dossier_digest}", soft_wrap=True)
    console.print(f"required sign-offs: {', '.join(run.required_roles) or 'none'}; registry {reg.where}")


@registry_app.command("list")
def list_runs(registry: RegistryOpt = None, as_json: JsonOption = False) -> None:
    """List registered runs with their policy decision and final status.

    Example: [bold]clearance registry list --registry /srv/clearance/registry.db[/]
    """
    with Registry(registry) as reg:
        rows = [(r, reg.status(r.id)) for r in reg.runs()]
    if as_json:
        emit_json({"runs": [{**r.model_dump(mode="json"), "status": st.status} for r, st in rows]})
        return
    table = Table(title=f"runs in {reg.where}")
    for col in ("id", "model", "registered", "policy", "status", "digest"):
        table.add_column(col)
    for r, st in rows:
        table.add_row(
            str(r.id),
            r.model_name,
            r.registered_at[:10],
            _style(r.decision),
            _style(st.status),
            r.dossier_digest[:12],
        )
    console.print(table)


@registry_app.command("show")
def show(run: RunArg, registry: RegistryOpt = None, as_json: JsonOption = False) -> None:
    """Show one run: dossier, decision, gates needing review, sign-offs and waivers (signatures checked).

    Example: [bold]clearance registry show 1[/]
    """
    with Registry(registry) as reg:
        info = reg.run(run)
        signoffs, waivers = reg.signoffs(info.id), reg.waivers(info.id)
    if as_json:
        emit_json({"run": info, "signoffs": signoffs, "waivers": waivers})
        return
    console.print(f"[bold]run {info.id}[/]: {info.title}", soft_wrap=True)
    console.print(f"  model        {info.model_name} ({info.model_digest})", soft_wrap=True)
    console.print(f"  dossier      {info.dossier_path}", soft_wrap=True)
    console.print(f"  digest       sha256:{info.dossier_digest}", soft_wrap=True)
    console.print(f"  decision     {_style(info.decision)} by policy {info.policy}", soft_wrap=True)
    console.print(f"  review gates {', '.join(info.review_gates) or 'none'}", soft_wrap=True)
    console.print(f"  reject gates {', '.join(info.reject_gates) or 'none'}", soft_wrap=True)
    console.print(
        f"  sign-offs by {', '.join(info.required_roles)}; approvals valid {info.approval_days} days"
    )
    console.print(f"  registered   {info.registered_at} by {info.registered_by}")
    if signoffs:
        t = Table(title="sign-offs")
        for col in ("id", "role", "decision", "signer", "signed at", "signature", "comment"):
            t.add_column(col)
        for s in signoffs:
            t.add_row(
                str(s.id),
                s.role,
                s.decision,
                s.signer,
                s.signed_at,
                "ok" if s.signature_ok else "[red]INVALID[/]",
                s.comment,
            )
        console.print(t)
    if waivers:
        t = Table(title="waivers")
        for col in ("id", "gate", "expires", "approver", "signature", "reason"):
            t.add_column(col)
        for w in waivers:
            t.add_row(
                str(w.id),
                w.gate,
                w.expires,
                w.approver,
                "ok" if w.signature_ok else "[red]INVALID[/]",
                w.reason,
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
        who = f" by {r.signer} on {r.signed_at}" if r.signer else ""
        console.print(f"  role {r.role:<9} {r.state}{who}", soft_wrap=True)
    for g in st.gates:
        extra = f" (waiver {g.waiver_id}, expires {g.expires})" if g.waiver_id else ""
        console.print(f"  gate {g.gate:<30} {g.state}{extra}", soft_wrap=True)
    for reason in st.reasons:
        console.print(f"  - {reason}", soft_wrap=True)
    for flag in st.flags:
        console.print(f"  [yellow]! {flag}[/]", soft_wrap=True)


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
            f"[bold green]OK[/] {what}: {res.entries} ledger entries chain correctly, "
            f"{res.signatures_checked} signatures verify",
            soft_wrap=True,
        )
    else:
        console.print(f"[bold red]FAILED[/] {what}: {len(res.problems)} problem(s)", soft_wrap=True)
        for p in res.problems[:30]:
            parts = [f"entry {p.seq}" if p.seq is not None else "", f"({p.record})" if p.record else ""]
            where = " ".join(x for x in parts if x)
            console.print(f"  {where}: {p.problem}", soft_wrap=True)
    console.print(
        f"head {res.head_seq}:{res.head_hash}  (keep it outside the database; check with --expect-head)",
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
    as_json: JsonOption = False,
) -> None:
    """Check the ledger's hash chain, every row against its ledger entry, and every sign-off/waiver signature.

    Exit status: 0 everything holds; 1 a problem was found (each names the ledger entry or record); 2 error.

    Example: [bold]clearance registry verify --expect-head 12:3f1c…[/]   or   [bold]clearance registry verify --export run-1.json[/]
    """
    if export is not None:
        res = verify_export(export, expect_head=expect_head)
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
            "--require", help=f"Roles required for new runs ({', '.join(ROLES)}; repeat or comma-separate)."
        ),
    ] = None,
    approval_days: Annotated[
        int | None, typer.Option("--approval-days", help="Approvals expire after this many days.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show or set the registry's defaults for new runs (the change is recorded in the ledger).

    Default: security and ml must sign off; approvals are valid 365 days.

    Example: [bold]clearance registry config --require security,ml,legal --approval-days 180[/]
    """
    changing = bool(require) or approval_days is not None
    with Registry(registry, create=changing) as reg:
        settings = reg.configure(required_roles=_roles(require), approval_days=approval_days)
    if as_json:
        emit_json(settings)
    else:
        console.print(
            f"required roles: {', '.join(settings['required_roles'])}; approvals valid "
            f"{settings['approval_days']} days ({reg.where})"
        )


@app.command("signoff")
def signoff(
    run: RunArg,
    role: Annotated[str, typer.Option("--role", help=f"Your role: {', '.join(ROLES)}.")],
    key: Annotated[Path, typer.Option("--key", help="Your PEM private key (Ed25519 or ECDSA).")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approve.")] = False,
    comment: Annotated[str, typer.Option("--comment", help="Why; stored and signed.")] = "",
    by: Annotated[str | None, typer.Option("--by", help="Your name (default: your user name).")] = None,
    registry: RegistryOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Sign off a registered run for one role: a signature over the run's dossier digest, recorded in the ledger.

    Example: [bold]clearance signoff 1 --role security --key ~/.keys/alice.key --comment "scan clean"[/]
    """
    with Registry(registry) as reg:
        s = reg.sign_off(
            run, role=role, key=key, decision="reject" if reject else "approve", comment=comment, signer=by
        )
        st = reg.status(s.run_id)
    if as_json:
        emit_json({"signoff": s, "status": st.status})
        return
    verb = "[red]rejected[/]" if reject else "[green]approved[/]"
    console.print(f"sign-off {s.id}: {s.signer} ({s.role}) {verb} run {s.run_id} — key {s.fingerprint[:16]}…")
    console.print(f"run {s.run_id} is now {_style(st.status)}")


@app.command("waive")
def waive(
    run: RunArg,
    gate: Annotated[str, typer.Option("--gate", help="The id of a gate that needs review in this run.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the gate may pass; stored and signed.")],
    expires: Annotated[
        str, typer.Option("--expires", help="YYYY-MM-DD; the waiver ends at 00:00 UTC that day.")
    ],
    key: Annotated[Path, typer.Option("--key", help="The approver's PEM private key.")],
    by: Annotated[str | None, typer.Option("--by", help="Approver's name (default: your user name).")] = None,
    registry: RegistryOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Waive one needs-review gate of a run until a date (a rejecting gate cannot be waived).

    Example: [bold]clearance waive 1 --gate fits-hardware --reason "runs on the H200 pool" --expires 2027-03-01 --key bob.key[/]
    """
    with Registry(registry) as reg:
        w = reg.waive(run, gate=gate, reason=reason, expires=expires, key=key, approver=by)
        st = reg.status(w.run_id)
    if as_json:
        emit_json({"waiver": w, "status": st.status})
        return
    console.print(f"waiver {w.id}: gate {w.gate} of run {w.run_id} passes until {w.expires} ({w.approver})")
    console.print(f"run {w.run_id} is now {_style(st.status)}")
    if st.status == "needs_review":
        open_gates = [g.gate for g in st.gates if g.state != "waived"]
        err_console.print(f"still open: {', '.join(open_gates)}")
