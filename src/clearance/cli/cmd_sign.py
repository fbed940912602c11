"""CLI: ``clearance keygen``, ``clearance sign`` and ``clearance verify-signature`` (OpenSSF model signing)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clearance.cli.app import app
from clearance.cli.output import JsonOption, console, emit_json
from clearance.inert import inert


@app.command("keygen")
def keygen_cmd(
    directory: Annotated[
        Path, typer.Argument(help="Directory to write <name>.key (mode 0600) and <name>.pub into.")
    ],
    kind: Annotated[
        str, typer.Option("--kind", help="ecdsa-p256 (default, OMS-compatible), ecdsa-p384 or ed25519.")
    ] = "ecdsa-p256",
    name: Annotated[str, typer.Option("--name", help="File name stem.")] = "clearance",
    json_out: JsonOption = False,
) -> None:
    """Generate a signing key pair (PEM).

    Example: [bold]clearance keygen ./keys[/]
    """
    from clearance.signing.keys import generate_keypair, key_fingerprint, load_public_key

    priv, pub = generate_keypair(directory, kind=kind, name=name)  # type: ignore[arg-type]
    fp = key_fingerprint(load_public_key(pub))
    if json_out:
        emit_json({"private_key": str(priv), "public_key": str(pub), "kind": kind, "fingerprint": fp})
    else:
        console.print(f"private key: {priv}\npublic key:  {pub}\nfingerprint: sha256:{fp}")


@app.command("sign")
def sign_cmd(
    model: Annotated[Path, typer.Argument(help="Model directory or file to sign.")],
    key: Annotated[Path, typer.Option("--key", "-k", help="ECDSA private key (PEM).")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Signature file (default MODEL/model.sig).")
    ] = None,
    cert: Annotated[
        Path | None, typer.Option("--cert", help="Signing certificate (PEM): use the certificate method.")
    ] = None,
    chain: Annotated[
        list[Path] | None,
        typer.Option("--chain", help="Intermediate/CA certificates to embed (PEM, repeatable)."),
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", help="Relative path to leave unsigned.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Sign a model in the OpenSSF model-signing (OMS v1.0) format, offline (key or certificate method).

    The .sig file verifies with 'model_signing verify key|certificate' too.

    Example: [bold]clearance sign ./Qwen3-0.6B --key keys/clearance.key --out qwen3.sig[/]
    """
    from clearance.signing.oms import sign_model

    sig = sign_model(
        model,
        key,
        out,
        certificate=cert,
        chain=list(chain or []),
        ignore_paths=list(ignore or []),
        progress=not json_out,
    )
    if json_out:
        emit_json({"model": str(model), "signature": str(sig), "method": "certificate" if cert else "key"})
    else:
        console.print(
            f"signed {inert(model)} → {inert(sig)} ({'certificate' if cert else 'key'} method, OMS v1.0)"
        )


@app.command("verify-signature")
def verify_signature_cmd(
    model: Annotated[Path, typer.Argument(help="Model directory or file to verify.")],
    sig: Annotated[Path, typer.Option("--sig", "-s", help="Signature bundle (.sig).")],
    key: Annotated[
        Path | None, typer.Option("--key", "-k", help="Public key (PEM) of the key method.")
    ] = None,
    ca: Annotated[
        Path | None, typer.Option("--ca", help="CA certificate(s) (PEM) of the certificate method.")
    ] = None,
    ignore_unsigned: Annotated[
        bool, typer.Option("--ignore-unsigned-files", help="Accept files that the signature does not list.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Verify a model's OMS signature: the signature, the key or CA chain, and every file's sha256.

    Exit 0 when it holds; otherwise one error line and exit 1.

    Example: [bold]clearance verify-signature ./Qwen3-0.6B --sig qwen3.sig --key keys/clearance.pub[/]
    """
    from clearance.signing.oms import verify_model

    res = verify_model(
        model,
        sig,
        public_key=key,
        ca_certificates=ca,
        ignore_unsigned_files=ignore_unsigned,
        progress=not json_out,
    )
    if json_out:
        emit_json(res)
    else:
        console.print(
            f"[green]verified[/] {res.files} files of {model} ({res.method} method, signer {res.signer})"
        )
        console.print(f"root digest: {res.root_digest}", soft_wrap=True)
