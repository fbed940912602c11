"""One JSON conversion, one canonical JSON (RFC 8785) and one decorator table for the whole library."""

from __future__ import annotations

import pytest

from clearance.errors import InputError
from clearance.jsonio import canonical_bytes, canonical_json, to_jsonable
from clearance.nametable import NameTable


def test_canonical_json_sorts_members_by_utf16_and_keeps_utf8() -> None:
    # RFC 8785 section 3.2.3: sorting by UTF-16 code units puts U+1F600 (D83D DE00) before U+FB33.
    data = {"\ufb33": 3, "\U0001f600": 2, "€": 1, "b": [1, "é", None, True], "a": {"z": 0, "y": False}}
    assert (
        canonical_json(data)
        == '{"a":{"y":false,"z":0},"b":[1,"é",null,true],"€":1,"\U0001f600":2,"\ufb33":3}'
    )
    assert canonical_bytes(data) == canonical_json(data).encode("utf-8")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (-0.0, "0"),
        (0.1, "0.1"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e300, "1.5e+300"),
        (5e-324, "5e-324"),
        (333333333.3333333, "333333333.3333333"),
    ],
)
def test_canonical_numbers_follow_ecmascript(value: float, text: str) -> None:
    assert canonical_json(value) == text


def test_canonical_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(ValueError):
        canonical_json(float("nan"))
    with pytest.raises(TypeError):
        canonical_json({"x": object()})


def test_ledger_and_seal_use_the_one_canonical_form() -> None:
    from clearance.dossier.seal import manifest_bytes
    from clearance.registry.ledger import canonical

    data = {"files": [{"path": "ä.json", "size": 3}], "hash": "sha256"}
    assert canonical(data) == canonical_json(data)
    assert manifest_bytes(data) == canonical_bytes(data) + b"\n"


def test_to_jsonable_turns_records_inside_containers_into_plain_data() -> None:
    from clearance.findings import Finding, Severity

    f = Finding(file="a", rule="R", severity=Severity.high, message="m")
    out = to_jsonable({"x": (f,), 1: [f]})
    assert out["x"][0]["severity"] == "high" and out["1"][0]["rule"] == "R"


def test_name_table_refuses_a_second_entry_and_suggests_on_typo() -> None:
    table: NameTable[int] = NameTable("widget")
    table.add("alpha", 1)
    table.add("beta", 2)
    with pytest.raises(ValueError, match="registered twice"):
        table.add("alpha", 3)
    with pytest.raises(
        InputError, match=r"unknown widget 'alpah'; known: alpha, beta; did you mean 'alpha'\?"
    ):
        table.get("alpah")
    assert table.names() == ["alpha", "beta"] and "beta" in table and len(table) == 2


def test_every_decorator_table_is_a_name_table() -> None:
    from clearance.evals import LOADERS, METRICS, SCORERS
    from clearance.scan.checks import CHECKS

    for table in (SCORERS, METRICS, LOADERS, CHECKS):
        assert isinstance(table, NameTable)
    assert "refusal" in SCORERS and "accuracy" in METRICS
