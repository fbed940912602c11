"""The typed error hierarchy. Every error a user can cause is a ``ClearanceError``.

The CLI turns a ``ClearanceError`` into one readable line and its ``exit_code``; anything else is a
bug and shows a traceback only with ``--debug``.
"""

from __future__ import annotations


class ClearanceError(Exception):
    """Base of every expected failure; ``str(err)`` is the one line a user reads.

    ``param`` names the library parameter at fault (``limit``, ``max_tokens``) when there is one; the
    message then starts with that name (or ``[name]``), and the CLI shows the flag instead
    (``--limit``; ``clearance.cli.output.flag_message``).
    """

    exit_code: int = 2

    def __init__(self, *args: object, param: str | None = None) -> None:
        self.param = param
        super().__init__(*args)


class InputError(ClearanceError):
    """A path, file, option or value given by the user is missing or malformed."""


class ModelSourceError(InputError):
    """A model directory, config or weights file cannot be read or is malformed."""


class FormatError(ModelSourceError):
    """A file's bytes violate its format (safetensors, GGUF, pickle, zip); carries the field at fault."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None) -> None:
        self.file = file
        self.field = field
        where = " ".join(p for p in (file and f"{file}:", field and f"[{field}]") if p)
        super().__init__(f"{where} {message}".strip())


class PolicyError(InputError):
    """A policy file is malformed or names an unknown gate or metric."""


class CatalogError(InputError):
    """An unknown catalog entry (model, GPU, price) or a malformed user catalog file."""


class EndpointError(ClearanceError):
    """Talking to a model endpoint failed.

    ``retryable``: the request may be sent again (nothing was received, or a 429/5xx status);
    ``retry_after_s``: the server's ``Retry-After``, when it sent one; ``replica``: the base URL that
    failed, when a replica pool routed the request.
    """

    retryable: bool = False
    retry_after_s: float | None = None
    replica: str | None = None


class EndpointConnectError(EndpointError):
    """The endpoint refused or dropped the connection, or the host is unreachable."""


class EndpointTimeoutError(EndpointError):
    """The endpoint did not answer (or stalled mid-stream) within the timeout."""


class EndpointStatusError(EndpointError):
    """The endpoint answered with an HTTP error status."""

    def __init__(self, message: str, *, status_code: int, body: str = "") -> None:
        self.status_code = status_code
        self.body = body
        super().__init__(message)


class EndpointProtocolError(EndpointError):
    """The endpoint answered with something that is not a valid OpenAI-compatible response."""


class EndpointTooLargeError(EndpointProtocolError):
    """The response grew past the client's cap on response size; it was cut off, not buffered."""


class ServerError(ClearanceError):
    """The embedded model server could not be started (missing extra, port in use, crashed)."""


class DossierError(ClearanceError):
    """A dossier is incomplete, or a signature or digest does not hold."""

    exit_code = 1


class SignatureError(DossierError):
    """A signature, key, certificate chain or signed digest does not verify."""


class RegistryError(ClearanceError):
    """The approval registry cannot be opened, or a registry operation is refused (unknown run, bad sign-off)."""
