"""The reviewers' web app: Starlette routes over the registry, server-rendered with Jinja2, plain forms.

Every page needs a session; every POST needs the session's CSRF token (and a same-origin request);
every signing form also carries a one-time nonce and the reviewer's password, which opens their sealed
key for that one signature. Authorization is decided here, on the server, for every action, and the
registry enforces its own rules again when the signature is recorded. Refusals are logged.

Pages are plain functions, which Starlette runs in worker threads, and the sign-in and signing bodies
are handed to a worker too: password hashing, key opening, dossier reading and registry writes never
stall the event loop (the caches they share are locked; a form nonce is consumed by one conditional
update, so a raced replay signs once).
"""

from __future__ import annotations

import functools
import hmac
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from clearance.controls import FRAMEWORKS, control_title, controls_for, process_controls, sources
from clearance.dossier import DossierInput
from clearance.dossier.report import fmt_value, run_charts
from clearance.errors import ClearanceError
from clearance.inert import visible
from clearance.registry import ROLES, Registry, verify_registry
from clearance.registry.db import LedgerRow
from clearance.registry.ledger import to_entry
from clearance.web import comparisons, dossiers
from clearance.web.keys import KeyLocked
from clearance.web.people import LiveSession, LoginRefused, People
from clearance.web.runs import RunFilter, RunView, current_run_lines, filter_lines, run_view

COOKIE = "clearance_session"
TLS_COOKIE = "__Host-clearance_session"
LOGIN_COOKIE = "clearance_login"
MAX_FORM_BYTES = 64 * 1024
MAX_TEXT = 4000
PAGE = 50

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# The sealed report is the project's own HTML with inline CSS and data-URI charts, and no scripts.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; sandbox"


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("clearance.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt_value
    env.filters["visible"] = lambda v: visible(v, multiline=True)  # bidi and invisible characters shown
    env.globals["control_title"] = control_title
    return env


_ENV = _env()


class SecurityHeaders(BaseHTTPMiddleware):
    """Strict CSP and friends on every response; no caching of authenticated pages."""

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        h = response.headers
        h["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        h.setdefault("Content-Security-Policy", CSP)
        h["X-Content-Type-Options"] = "nosniff"
        h["X-Frame-Options"] = "DENY"
        h["Referrer-Policy"] = "same-origin"  # "no-referrer" would make browsers send Origin: null
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Cross-Origin-Resource-Policy"] = "same-origin"
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if not request.url.path.startswith("/static/"):
            h["Cache-Control"] = "no-store"
        if request.url.scheme == "https":
            h["Strict-Transport-Security"] = "max-age=31536000"
        return response


def safe_next(target: str | None) -> str:
    """A post-login destination: a path on this site only (no scheme, host, ``//`` or backslash)."""
    default = "/runs"
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _cookie_name(request: Request) -> str:
    return TLS_COOKIE if _secure(request) else COOKIE


class WebApp:
    """Route handlers bound to one registry and its people."""

    def __init__(self, reg: Registry, people: People) -> None:
        self.reg = reg
        self.people = people

    # ---- helpers -----------------------------------------------------------------------------------
    def render(
        self, request: Request, name: str, live: LiveSession | None, status_code: int = 200, **ctx: Any
    ) -> HTMLResponse:
        html = _ENV.get_template(name).render(
            request=request, live=live, me=live.person if live else None, roles=ROLES, **ctx
        )
        return HTMLResponse(html, status_code=status_code)

    def live(self, request: Request) -> LiveSession | None:
        return self.people.session(request.cookies.get(_cookie_name(request)))

    def login_redirect(self, request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(safe_next(target), safe='')}", status_code=303)

    def deny(
        self, request: Request, live: LiveSession | None, action: str, target: str, why: str, code: int = 403
    ) -> HTMLResponse:
        self.people.log(live.person.name if live else "-", _client(request), action, target, "denied", why)
        return self.render(request, "error.html.j2", live, status_code=code, title="Not allowed", message=why)

    def same_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is not None and origin != "null":
            o = urlsplit(origin)
            if (o.scheme, o.netloc) != (request.url.scheme, request.url.netloc):
                return False
        elif origin == "null":
            return False
        return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")

    async def form(self, request: Request) -> FormData:
        length = request.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > MAX_FORM_BYTES:
            raise HTTPException(413, "form too large")
        return await request.form(max_files=0, max_fields=50)

    async def post_guard(
        self, request: Request, action: str
    ) -> tuple[LiveSession | None, FormData, Response | None]:
        """Session + same origin + CSRF token for a state-changing request; a refusal response otherwise."""
        live = self.live(request)
        form = await self.form(request)
        target = request.url.path
        if live is None:
            self.people.log(
                "-", _client(request), action, target, "denied", "no session (signed out or expired)"
            )
            return None, form, RedirectResponse("/login", status_code=303)
        if not self.same_origin(request):
            return live, form, self.deny(request, live, action, target, "cross-origin request refused")
        token = str(form.get("csrf") or "")
        if not hmac.compare_digest(token.encode(), live.csrf.encode()):
            return live, form, self.deny(request, live, action, target, "missing or wrong CSRF token")
        return live, form, None

    def view_or_404(self, run_id: str | int) -> RunView:
        try:
            return run_view(self.reg, int(run_id))
        except (ClearanceError, ValueError) as exc:
            raise HTTPException(404, "no such run") from exc

    def run_or_404(self, run_id: str | int) -> Any:
        return self.view_or_404(run_id).run

    # ---- sign in / out -----------------------------------------------------------------------------
    def login_page(self, request: Request) -> Response:
        if self.live(request) is not None:
            return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
        return self._login_form(request, "", request.query_params.get("next", ""), 200)

    def _login_form(self, request: Request, error: str, nxt: str, code: int) -> Response:
        token = secrets.token_urlsafe(24)
        resp = self.render(
            request,
            "login.html.j2",
            None,
            status_code=code,
            error=error,
            next=safe_next(nxt),
            login_token=token,
        )
        resp.set_cookie(
            LOGIN_COOKIE,
            token,
            max_age=900,
            httponly=True,
            samesite="strict",
            secure=_secure(request),
            path="/login",
        )
        return resp

    async def login(self, request: Request) -> Response:
        form = await self.form(request)
        return await run_in_threadpool(self._login, request, form)  # argon2 off the event loop

    def _login(self, request: Request, form: FormData) -> Response:
        nxt = str(form.get("next") or "")
        expected = request.cookies.get(LOGIN_COOKIE, "")
        given = str(form.get("login_token") or "")
        why = None
        if not self.same_origin(request):
            why = f"cross-origin sign-in form refused (origin {request.headers.get('origin')!r}, fetch site {request.headers.get('sec-fetch-site')!r}, url {request.url.scheme}://{request.url.netloc})"
        elif not expected or not hmac.compare_digest(expected.encode(), given.encode()):
            why = "sign-in form token missing or wrong"
        if why:
            self.people.log("-", _client(request), "login", "/login", "denied", why)
            return self._login_form(request, "Your sign-in form expired; please try again.", nxt, 403)
        name = str(form.get("username") or "")[:100]
        password = str(form.get("password") or "")[:1024]
        try:
            person = self.people.check(name, password, _client(request))
        except LoginRefused as exc:
            resp = self._login_form(request, str(exc), nxt, 429 if exc.throttled else 401)
            if exc.throttled:
                resp.headers["Retry-After"] = str(exc.retry_after_s)
            return resp
        token, _csrf = self.people.start_session(person)
        self.people.log(person.name, _client(request), "login", "/login", "ok", "")
        resp = RedirectResponse(safe_next(nxt), status_code=303)
        resp.set_cookie(
            _cookie_name(request), token, httponly=True, samesite="strict", secure=_secure(request), path="/"
        )
        resp.delete_cookie(LOGIN_COOKIE, path="/login", httponly=True, samesite="strict")
        return resp

    async def logout(self, request: Request) -> Response:
        live, _form, refused = await self.post_guard(request, "logout")
        if refused is not None:
            return refused
        assert live is not None
        self.people.end_session(live.token_hash)
        self.people.log(live.person.name, _client(request), "logout", "/logout", "ok", "")
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(_cookie_name(request), path="/")
        return resp

    # ---- pages -------------------------------------------------------------------------------------
    def home(self, request: Request) -> Response:
        return RedirectResponse("/runs", status_code=303)

    def runs_page(self, request: Request) -> Response:
        live = self.live(request)
        if live is None:
            return self.login_redirect(request)
        q = request.query_params
        f = RunFilter(
            model=q.get("model", "")[:200],
            status=q.get("status", "") if q.get("status", "") in _STATUSES else "",
            expiry=q.get("expiry", "") if q.get("expiry", "") in ("", "expired", "30", "90") else "",
            role=q.get("role", "") if q.get("role", "") in ROLES else "",
        )
        page = _int(q.get("page"), 1)
        lines = filter_lines(current_run_lines(self.reg), f, today=self.reg.clock().date())
        pages = max(1, math.ceil(len(lines) / PAGE))
        page = min(page, pages)
        shown = lines[(page - 1) * PAGE : page * PAGE]
        return self.render(
            request,
            "runs.html.j2",
            live,
            lines=shown,
            total=len(lines),
            f=f,
            page=page,
            pages=pages,
            statuses=_STATUSES,
        )

    def run_page(self, request: Request) -> Response:
        live = self.live(request)
        if live is None:
            return self.login_redirect(request)
        rv = self.view_or_404(request.path_params["run_id"])
        run, status, signoffs, waivers = rv.run, rv.status, rv.signoffs, rv.waivers
        view = dossiers.open_dossier(run.dossier_path, run.dossier_digest)
        gates: list[dict[str, Any]] = []
        charts: list[Markup] = []
        groups: list[dict[str, Any]] = []
        data: DossierInput | None = None
        if view.doc:
            try:
                data = DossierInput.model_validate(view.doc)
            except ValueError:
                data = None
        if data is not None:
            gate_state = {g.gate: g for g in status.gates}
            catalog = _fact_catalog()
            for g in data.decision.gates:
                gates.append(
                    {
                        "g": g,
                        "controls": controls_for(g.id, g.fact, g.controls),
                        "meaning": catalog.meaning(g.fact) if catalog is not None else None,
                        "waiver": gate_state.get(g.id),
                    }
                )
            if view.trusted:
                charts = [Markup(c) for c in run_charts(data)]
            samples = dossiers.load_samples(view) if view.trusted else []
            per: dict[str, dict[str, int]] = {}
            for e in samples:
                d = per.setdefault(e.suite, {"total": 0, "failing": 0})
                d["total"] += 1
                d["failing"] += int(e.failing)
            groups = [{"suite": k, **v} for k, v in per.items()]
        mine = [r for r in live.person.roles if r in ROLES]
        return self.render(
            request,
            "run.html.j2",
            live,
            run=run,
            status=status,
            signoffs=signoffs,
            waivers=waivers,
            view=view,
            data=data,
            gates=gates,
            charts=charts,
            groups=groups,
            my_roles=mine,
            process=process_controls(),
            frameworks=FRAMEWORKS,
            control_sources=sources(),
            flash=request.query_params.get("done", ""),
            last_approved=comparisons.last_approved(self.reg, run),
        )

    def samples_page(self, request: Request) -> Response:
        live = self.live(request)
        if live is None:
            return self.login_redirect(request)
        run = self.run_or_404(request.path_params["run_id"])
        view = dossiers.open_dossier(run.dossier_path, run.dossier_digest)
        q = request.query_params
        query = dossiers.SampleQuery(
            q=q.get("q", "")[:500],
            suite=q.get("suite", "")[:200],
            outcome=q.get("outcome", "failing")
            if q.get("outcome") in ("failing", "passing", "all")
            else "failing",
            offset=0,
            limit=PAGE,
        )
        page = _int(q.get("page"), 1)
        query.offset = (page - 1) * PAGE
        samples = dossiers.load_samples(view) if view.trusted else []
        total, hits = dossiers.search_samples(samples, query)
        suites = sorted({e.suite for e in samples})
        return self.render(
            request,
            "samples.html.j2",
            live,
            run=run,
            view=view,
            query=query,
            total=total,
            hits=hits,
            suites=suites,
            page=page,
            pages=max(1, math.ceil(total / PAGE)),
        )

    def sample_page(self, request: Request) -> Response:
        live = self.live(request)
        if live is None:
            return self.login_redirect(request)
        run = self.run_or_404(request.path_params["run_id"])
        view = dossiers.open_dossier(run.dossier_path, run.dossier_digest)
        samples = dossiers.load_samples(view) if view.trusted else []
        e = dossiers.find_sample(
            samples, request.query_params.get("suite", ""), request.query_params.get("id", "")
        )
        if e is None:
            raise HTTPException(404, "no such sample")
        return self.render(request, "sample.html.j2", live, run=run, e=e)

    def report_page(self, request: Request) -> Response:
        live = self.live(request)
        if live is None:
            return self.login_redirect(request)
        run = self.run_or_404(request.path_params["run_id"])
        view = dossiers.open_dossier(run.dossier_path, run.dossier_digest)
        if not view.trusted:
            return self.render(
                request, "error.html.j2", live, 409, title="Report withheld", message=view.problem
            )
        html = (view.path / "report.html").read_bytes()
        return Response(html, media_type="text/html", headers={"Content-Security-Policy": REPORT_CSP})

    def verify_run_page(self, request: Request) -> Response:
        live = self.live(request)
        if live is None:
            return self.login_redirect(request)
        run = self.run_or_404(request.path_params["run_id"])
        try:
            res = dossiers.verify_dossier(run.dossier_path)
            error = None
        except ClearanceError as exc:
            res, error = None, str(exc)
        view = dossiers.open_dossier(run.dossier_path, run.dossier_digest)
        return self.render(request, "verify_run.html.j2", live, run=run, res=res, error=error, view=view)

    def verify_page(self, request: Request) -> Response:
        live = self.live(request)
        if live is None:
            return self.login_redirect(request)
        res = verify_registry(self.reg)
        return self.render(request, "verify.html.j2", live, res=res, where=self.reg.where)

    def audit_page(self, request: Request) -> Response:
        live = self.live(request)
        if live is None:
            return self.login_redirect(request)
        q = request.query_params
        run_id = _int(q.get("run"), 0)
        kind = q.get("kind", "")[:40]
        page = _int(q.get("page"), 1)
        with Session(self.reg.engine) as s:
            stmt = select(LedgerRow)
            count = select(func.count()).select_from(LedgerRow)
            if run_id:
                stmt, count = stmt.where(LedgerRow.run_id == run_id), count.where(LedgerRow.run_id == run_id)
            if kind:
                stmt, count = stmt.where(LedgerRow.kind == kind), count.where(LedgerRow.kind == kind)
            total = int(s.scalar(count) or 0)
            rows = s.scalars(stmt.order_by(LedgerRow.seq.desc()).offset((page - 1) * 100).limit(100)).all()
            entries = [to_entry(r) for r in rows]
            kinds = sorted(k for (k,) in s.execute(select(LedgerRow.kind).distinct()))
        events = self.people.events(limit=100) if not run_id else []
        return self.render(
            request,
            "audit.html.j2",
            live,
            entries=entries,
            total=total,
            page=page,
            pages=max(1, math.ceil(total / 100)),
            run_id=run_id,
            kind=kind,
            kinds=kinds,
            events=events,
        )

    def me_page(self, request: Request) -> Response:
        live = self.live(request)
        if live is None:
            return self.login_redirect(request)
        return self.render(request, "me.html.j2", live)

    # ---- compare and diff --------------------------------------------------------------------------
    def _trusted_or_409(
        self, request: Request, live: LiveSession, ids: list[int]
    ) -> tuple[list[RunView], list[comparisons.Evidence]] | Response:
        """The runs (404 when one is unknown) and their trusted evidence, or a page saying which is withheld."""
        views = [self.view_or_404(i) for i in ids]
        try:
            return views, [comparisons.trusted(v.run) for v in views]
        except comparisons.Withheld as exc:
            msg = f"{exc}; no numbers are shown for runs whose evidence is withheld."
            return self.render(request, "error.html.j2", live, 409, title="Comparison withheld", message=msg)

    def diff_page(self, request: Request) -> Response:
        live = self.live(request)
        if live is None:
            return self.login_redirect(request)
        q = request.query_params
        try:
            ids = comparisons.parse_ids([q.get("baseline", ""), q.get("candidate", "")], least=2, most=2)
        except ValueError as exc:
            raise HTTPException(400, f"diff: {exc} (/diff?baseline=RUN&candidate=RUN)") from exc
        got = self._trusted_or_409(request, live, ids)
        if isinstance(got, Response):
            return got
        return self._comparison(request, live, "diff.html.j2", lambda: comparisons.diff_runs(*got[1]))

    def compare_page(self, request: Request) -> Response:
        live = self.live(request)
        if live is None:
            return self.login_redirect(request)
        try:
            ids = comparisons.parse_ids(
                request.query_params.getlist("run"), least=comparisons.MIN_RUNS, most=comparisons.MAX_RUNS
            )
        except ValueError as exc:
            raise HTTPException(400, f"compare: {exc} (/compare?run=RUN&run=RUN, 2 to 8 runs)") from exc
        got = self._trusted_or_409(request, live, ids)
        if isinstance(got, Response):
            return got
        views, evs = got
        statuses: dict[int, str] = {v.run.id: v.status.status for v in views}
        return self._comparison(
            request, live, "compare.html.j2", lambda: comparisons.compare_runs_page(evs, statuses)
        )

    def _comparison(
        self, request: Request, live: LiveSession, template: str, build: Callable[[], Any]
    ) -> Response:
        """The page of a comparison, or 409 with the one line that says which run was withheld and why."""
        try:
            page = build()
        except (comparisons.Withheld, ClearanceError) as exc:
            return self.render(
                request, "error.html.j2", live, 409, title="Comparison withheld", message=str(exc)
            )
        return self.render(request, template, live, p=page)

    # ---- signing -----------------------------------------------------------------------------------
    def signoff_page(self, request: Request) -> Response:
        live = self.live(request)
        if live is None:
            return self.login_redirect(request)
        run = self.run_or_404(request.path_params["run_id"])
        wanted = request.query_params.get("role", "")
        if wanted and not live.person.may_sign(wanted):
            return self.deny(
                request, live, "signoff", f"run {run.id} as {wanted}", f"you do not hold the role {wanted!r}"
            )
        return self._signoff_form(request, live, run, "", wanted, 200)

    def _signoff_form(
        self, request: Request, live: LiveSession, run: Any, error: str, role: str, code: int
    ) -> Response:
        mine = [r for r in live.person.roles if r in ROLES]
        if not mine:
            return self.deny(request, live, "signoff", f"run {run.id}", "your account holds no reviewer role")
        nonce = self.people.issue_nonce(live, f"signoff:{run.id}")
        return self.render(
            request,
            "signoff.html.j2",
            live,
            code,
            run=run,
            status=self.view_or_404(run.id).status,
            my_roles=mine,
            role=role or mine[0],
            error=error,
            nonce=nonce,
        )

    async def signoff(self, request: Request) -> Response:
        live, form, refused = await self.post_guard(request, "signoff")
        if refused is not None:
            return refused
        assert live is not None
        return await run_in_threadpool(self._signoff, request, live, form)  # argon2, scrypt, the write

    def _signoff(self, request: Request, live: LiveSession, form: FormData) -> Response:
        run = self.run_or_404(request.path_params["run_id"])
        role = str(form.get("role") or "")
        target = f"run {run.id} as {role}"
        if not live.person.may_sign(role):
            return self.deny(
                request, live, "signoff", target, f"{live.person.name} does not hold the role {role!r}"
            )
        if not self.people.use_nonce(live, f"signoff:{run.id}", str(form.get("nonce") or "")):
            return self.deny(
                request,
                live,
                "signoff",
                target,
                "this form was already submitted or has expired (replay refused)",
                409,
            )
        decision = str(form.get("decision") or "")
        if decision not in ("approve", "reject"):
            return self._signoff_form(request, live, run, "choose approve or reject", role, 400)
        comment = str(form.get("comment") or "")
        if len(comment) > MAX_TEXT:
            return self._signoff_form(
                request, live, run, f"comment longer than {MAX_TEXT} characters", role, 400
            )
        try:
            key = self.people.signing_key(
                live.person,
                str(form.get("password") or "")[:1024],
                _client(request),
                action="signoff",
                target=target,
            )
        except (LoginRefused, KeyLocked) as exc:
            return self._signoff_form(request, live, run, str(exc), role, 401)
        try:
            info = self.reg.sign_off(
                run.id, role=role, key=key, decision=decision, comment=comment, signer=live.person.name
            )
        except ClearanceError as exc:
            self.people.log(live.person.name, _client(request), "signoff", target, "failed", str(exc))
            return self._signoff_form(request, live, run, str(exc), role, 409)
        self.people.log(
            live.person.name, _client(request), "signoff", target, "ok", f"{decision}; sign-off {info.id}"
        )
        return RedirectResponse(f"/runs/{run.id}?done=signoff", status_code=303)

    def waive_page(self, request: Request) -> Response:
        live = self.live(request)
        if live is None:
            return self.login_redirect(request)
        run = self.run_or_404(request.path_params["run_id"])
        return self._waive_form(request, live, run, "", {}, 200)

    def _waive_roles(self, live: LiveSession, run: Any) -> list[str]:
        """The run's required roles this person holds: a waiver is signed in one of them."""
        return [r for r in run.required_roles if live.person.may_sign(r)]

    def _may_waive(self, live: LiveSession, run: Any) -> bool:
        return bool(self._waive_roles(live, run))

    def _waive_form(
        self, request: Request, live: LiveSession, run: Any, error: str, values: dict[str, str], code: int
    ) -> Response:
        if not self._may_waive(live, run):
            return self.deny(
                request,
                live,
                "waive",
                f"run {run.id}",
                f"waivers of run {run.id} need one of its required roles ({', '.join(run.required_roles)})",
            )
        status = self.view_or_404(run.id).status
        open_gates = [g.gate for g in status.gates if g.state != "waived"]
        nonce = self.people.issue_nonce(live, f"waive:{run.id}")
        return self.render(
            request,
            "waive.html.j2",
            live,
            code,
            run=run,
            open_gates=open_gates,
            waive_roles=self._waive_roles(live, run),
            error=error,
            nonce=nonce,
            values=values,
            today=self.reg.clock().date().isoformat(),
        )

    async def waive(self, request: Request) -> Response:
        live, form, refused = await self.post_guard(request, "waive")
        if refused is not None:
            return refused
        assert live is not None
        return await run_in_threadpool(self._waive, request, live, form)

    def _waive(self, request: Request, live: LiveSession, form: FormData) -> Response:
        run = self.run_or_404(request.path_params["run_id"])
        gate = str(form.get("gate") or "")[:200]
        target = f"run {run.id} gate {gate}"
        if not self._may_waive(live, run):
            return self.deny(
                request, live, "waive", target, f"{live.person.name} holds none of the run's required roles"
            )
        if not self.people.use_nonce(live, f"waive:{run.id}", str(form.get("nonce") or "")):
            return self.deny(
                request,
                live,
                "waive",
                target,
                "this form was already submitted or has expired (replay refused)",
                409,
            )
        role = str(form.get("role") or "")
        if role not in self._waive_roles(live, run):
            return self.deny(
                request, live, "waive", target, f"{live.person.name} cannot waive as {role!r} on run {run.id}"
            )
        reason = str(form.get("reason") or "")
        expires = str(form.get("expires") or "")
        values = {"gate": gate, "reason": reason[:MAX_TEXT], "expires": expires[:20], "role": role}
        if len(reason) > MAX_TEXT:
            return self._waive_form(
                request, live, run, f"reason longer than {MAX_TEXT} characters", values, 400
            )
        try:
            exp = date.fromisoformat(expires)
        except ValueError:
            return self._waive_form(request, live, run, "expiry must be a date (YYYY-MM-DD)", values, 400)
        try:
            key = self.people.signing_key(
                live.person,
                str(form.get("password") or "")[:1024],
                _client(request),
                action="waive",
                target=target,
            )
        except (LoginRefused, KeyLocked) as exc:
            return self._waive_form(request, live, run, str(exc), values, 401)
        try:
            info = self.reg.waive(
                run.id, gate=gate, reason=reason, expires=exp, key=key, role=role, approver=live.person.name
            )
        except ClearanceError as exc:
            self.people.log(live.person.name, _client(request), "waive", target, "failed", str(exc))
            return self._waive_form(request, live, run, str(exc), values, 409)
        self.people.log(
            live.person.name,
            _client(request),
            "waive",
            target,
            "ok",
            f"waiver {info.id} until {info.expires}",
        )
        return RedirectResponse(f"/runs/{run.id}?done=waiver", status_code=303)


@functools.lru_cache(maxsize=1)
def _fact_catalog() -> Any:
    """The declared facts of this build (what each gate's fact means), or None if unavailable."""
    try:
        from clearance.facts import declared_facts

        return declared_facts()
    except Exception:  # the meanings are explanation; the gate table stands without them
        return None


_STATUSES = ("approved", "rejected", "needs_review", "pending_signoff", "expired")


def _int(text: str | None, default: int) -> int:
    if text and text.isdigit() and len(text) < 9:
        return max(1, int(text)) if default else int(text)
    return default


async def _error(request: Request, exc: Exception) -> Response:
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
    html = _ENV.get_template("error.html.j2").render(
        request=request, live=None, me=None, title=f"Error {code}", message=detail
    )
    return HTMLResponse(html, status_code=code)


def create_app(
    registry: str | None = None,
    *,
    reg: Registry | None = None,
    people: People | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """The ASGI app over the registry at ``registry`` (created when absent), or over ``reg``/``people``."""
    if reg is None:
        from clearance.web.enrol import open_registry

        reg = open_registry(registry)
        if clock is not None:
            reg.clock = clock
    people = people or People(reg.engine)
    web = WebApp(reg, people)
    routes = [
        Route("/", web.home),
        Route("/login", web.login_page, methods=["GET"]),
        Route("/login", web.login, methods=["POST"]),
        Route("/logout", web.logout, methods=["POST"]),
        Route("/runs", web.runs_page),
        Route("/runs/{run_id:int}", web.run_page),
        Route("/runs/{run_id:int}/samples", web.samples_page),
        Route("/runs/{run_id:int}/sample", web.sample_page),
        Route("/runs/{run_id:int}/report", web.report_page),
        Route("/runs/{run_id:int}/verify", web.verify_run_page),
        Route("/runs/{run_id:int}/signoff", web.signoff_page, methods=["GET"]),
        Route("/runs/{run_id:int}/signoff", web.signoff, methods=["POST"]),
        Route("/runs/{run_id:int}/waive", web.waive_page, methods=["GET"]),
        Route("/runs/{run_id:int}/waive", web.waive, methods=["POST"]),
        Route("/diff", web.diff_page),
        Route("/compare", web.compare_page),
        Route("/audit", web.audit_page),
        Route("/verify", web.verify_page),
        Route("/me", web.me_page),
        Mount("/static", app=StaticFiles(packages=[("clearance.web", "static")]), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: _error, Exception: _error},
    )
    app.state.web = web
    return app
