"""The bounded zip reader: central-directory facts without extraction; mutated archives never crash the scan."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from scanbuild import pk_call, torch_like_pickle

from clearance.errors import FormatError
from clearance.model.pytorch_zip import read_member, read_zip_directory
from clearance.scan.formats import scan_zip_bytes_or_file


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return buf.getvalue()


VALID = _zip(
    {"archive/data.pkl": torch_like_pickle(), "archive/data/0": b"\0" * 16, "archive/version": b"3\n"}
)


def test_directory_and_member_read_back() -> None:
    data = _zip({"a/data.pkl": b"hello" * 100, "a/x": b"y"}, zipfile.ZIP_DEFLATED)
    lst = read_zip_directory(io.BytesIO(data), len(data), name="t.zip")
    assert lst.names() == ["a/data.pkl", "a/x"] and not lst.issues
    body, issues = read_member(io.BytesIO(data), len(data), lst.entries[0], name="t.zip", max_bytes=1 << 20)
    assert body == b"hello" * 100 and issues == []
    capped, issues = read_member(io.BytesIO(data), len(data), lst.entries[0], name="t.zip", max_bytes=10)
    assert len(capped) == 10 and [i.rule for i in issues] == ["ZIP-LIMIT"]


def test_many_entries_are_capped_before_parsing() -> None:
    # EOCD claiming 10^5+ entries: refused from the count alone
    eocd = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 65535, 65535, 0, 0, 0)
    from clearance.model.pytorch_zip import ZipLimits

    lst = read_zip_directory(io.BytesIO(eocd), len(eocd), name="t.zip", limits=ZipLimits(max_entries=1000))
    assert [i.rule for i in lst.issues] == ["ZIP-ENTRIES"]


def test_not_a_zip_is_a_format_error() -> None:
    try:
        read_zip_directory(io.BytesIO(b"PK\x03\x04 nothing"), 13, name="t.zip")
    except FormatError as err:
        assert "end-of-central-directory" in str(err)
    else:
        raise AssertionError("expected FormatError")


def test_scan_finds_payload_in_deflated_member(tmp_path: Path) -> None:
    data = _zip({"archive/data.pkl": pk_call("os", "system")}, zipfile.ZIP_DEFLATED)
    rules = {f.rule for f in scan_zip_bytes_or_file(Path("m.pt"), io.BytesIO(data), len(data), "m.pt")}
    assert "PICKLE-GLOBAL-DANGEROUS" in rules


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_archives_end_in_findings(data: st.DataObject) -> None:
    b = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.integers(0, 2))
        i = data.draw(st.integers(0, len(b) - 1))
        if kind == 0:
            b[i] = data.draw(st.integers(0, 255))
        elif kind == 1:
            b[i : i + 4] = struct.pack("<I", data.draw(st.integers(0, 2**32 - 1)))
        else:
            del b[i:]
            if not b:
                b = bytearray(b"PK")
    findings = list(scan_zip_bytes_or_file(Path("m.pt"), io.BytesIO(bytes(b)), len(b), "m.pt"))
    assert all(f.rule and f.message for f in findings)
