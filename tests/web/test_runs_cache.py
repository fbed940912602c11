"""The runs page's statuses after a write: only the runs written since are recomputed, and the merged
list is exactly what a full recompute gives; a write that concerns every run (a revocation) or a ledger
with integrity problems recomputes everything."""

from __future__ import annotations

from typing import Any

import pytest
from web_fixtures import PASSWORD, make_dossier

from clearance.registry import Registry
from clearance.web import runs as runs_mod
from clearance.web.runs import current_run_lines, run_lines
from fakes.tamper import edit_ledger_entry

Site = Any  # the ``site`` fixture of this folder's conftest


def _key(site: Site, name: str) -> Any:
    person = site.people.get(name)
    assert person is not None
    return site.people.signing_key(person, PASSWORD, "test", action="signoff")


def _summary(lines: list[runs_mod.RunLine]) -> list[tuple[int, str, list[str], list[str]]]:
    return [(ln.run.id, ln.status.status, ln.to_sign, ln.status.flags) for ln in lines]


@pytest.fixture
def spied(site: Site, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> list[set[int] | None]:
    """Three runs in the site's registry; returns the list of ``runs`` arguments of every status computation."""
    for name in ("qwen-9b", "qwen-27b"):
        site.reg.add(make_dossier(tmp_path, name=name, key=site.keys.runner_key), registered_by="lead")
    calls: list[set[int] | None] = []
    real = Registry.statuses_of

    def spy(self: Registry, *a: Any, runs: set[int] | None = None, **kw: Any) -> Any:
        calls.append(None if runs is None else set(runs))
        return real(self, *a, runs=runs, **kw)

    monkeypatch.setattr(Registry, "statuses_of", spy)
    runs_mod._cache.clear()
    return calls


def test_a_sign_off_recomputes_only_its_run(site: Site, spied: list[set[int] | None]) -> None:
    first = current_run_lines(site.reg)
    assert spied == [None] and len(first) == 3
    assert current_run_lines(site.reg) is first  # nothing written: the kept lines
    site.reg.sign_off(2, role="security", key=_key(site, "alice"))
    after = current_run_lines(site.reg)
    assert spied[-1] == {2}
    assert _summary(after) == _summary(run_lines(site.reg))
    line = next(ln for ln in after if ln.run.id == 2)
    assert "security" not in line.to_sign  # the new sign-off shows


def test_a_new_run_is_added_to_the_kept_lines(
    site: Site, spied: list[set[int] | None], tmp_path: Any
) -> None:
    current_run_lines(site.reg)
    run = site.reg.add(
        make_dossier(tmp_path, name="qwen-122b", key=site.keys.runner_key), registered_by="lead"
    )
    after = current_run_lines(site.reg)
    assert spied[-1] == {run.id}
    assert [ln.run.id for ln in after] == [4, 3, 2, 1]
    assert _summary(after) == _summary(run_lines(site.reg))


def test_a_revocation_recomputes_every_run(site: Site, spied: list[set[int] | None]) -> None:
    site.reg.sign_off(2, role="security", key=_key(site, "alice"))
    current_run_lines(site.reg)
    alice = site.people.get("alice")
    assert alice is not None and alice.key_fingerprint
    site.reg.revoke(alice.key_fingerprint, by=site.keys.admin_key, reason="left the company")
    after = current_run_lines(site.reg)
    assert spied[-1] is None
    assert _summary(after) == _summary(run_lines(site.reg))


def test_an_old_entry_edited_after_the_lines_were_kept_flags_every_run(
    site: Site, spied: list[set[int] | None]
) -> None:
    current_run_lines(site.reg)
    site.reg.sign_off(2, role="security", key=_key(site, "alice"))  # moves the head
    edit_ledger_entry(site.keys.location, "run.add", title="edited")
    after = current_run_lines(site.reg)
    assert spied[-1] is None
    assert all(any("ledger does not verify" in f for f in ln.status.flags) for ln in after)
    assert all(ln.status.status != "approved" for ln in after)
