"""Static pickle analysis: malicious pickles (incl. known scanner bypasses) are caught; torch-like ones pass."""

from __future__ import annotations

import pickle
import struct
import tracemalloc
from collections import OrderedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scanbuild import pk_call, pk_str, torch_like_pickle

from clearance.findings import Severity
from clearance.scan.pickle_scan import PickleLimits, analyse_pickle_bytes, classify_global, looks_like_pickle


def rules(data: bytes) -> set[str]:
    return {i.rule for i in analyse_pickle_bytes(data).issues}


def test_benign_torch_like_and_plain_data_pickles_are_clean() -> None:
    a = analyse_pickle_bytes(torch_like_pickle())
    assert a.is_safe, a.issues
    assert a.persistent_ids == 1 and "torch._utils._rebuild_tensor_v2" in a.calls
    for proto in range(6):
        data = pickle.dumps(
            {"a": [1, 2.5, "x", b"y", (None, True)], "o": OrderedDict(k=1), "s": {1}}, protocol=proto
        )
        assert analyse_pickle_bytes(data).is_safe, proto


@pytest.mark.parametrize("proto", [2, 3, 4, 5])
@pytest.mark.parametrize(
    "module,name",
    [
        ("os", "system"),
        ("posix", "system"),
        ("subprocess", "Popen"),
        ("builtins", "eval"),
        ("builtins", "exec"),
        ("builtins", "getattr"),
        ("builtins", "__import__"),
        ("runpy", "_run_code"),
        ("webbrowser", "open"),
        ("socket", "create_connection"),
        ("pkgutil", "resolve_name"),  # GHSA-vvpj-8cmc-gx39 universal bypass
        ("asyncio.unix_events", "_UnixSubprocessTransport"),  # CVE-2025-10157 submodule bypass
        ("pip", "main"),  # CVE-2025-1716
        ("importlib", "import_module"),
        ("marshal", "loads"),
        ("torch.serialization", "load"),
        ("torch.utils.collect_env", "run"),
        ("_operator", "attrgetter"),
        ("functools", "partial"),
        ("uuid", "_get_command_stdout"),
        ("mailcap", "findmatch"),
        ("numpy.testing._private.utils", "runstring"),
        ("code", "InteractiveInterpreter"),
        ("_io", "FileIO"),
    ],
)
def test_dangerous_calls_are_critical(module: str, name: str, proto: int) -> None:
    for memo in (False, True):
        a = analyse_pickle_bytes(pk_call(module, name, proto=proto, memo_trick=memo))
        assert a.max_severity() == Severity.critical, (module, name, a.issues)
        assert {i.rule for i in a.issues} == {"PICKLE-GLOBAL-DANGEROUS"}, a.issues
        assert any(f"{module}.{name}" in i.message for i in a.issues)


def test_protocol0_global_inst_and_obj_are_resolved() -> None:
    assert "PICKLE-GLOBAL-DANGEROUS" in rules(b"cos\nsystem\n(S'id'\ntR.")
    assert "PICKLE-GLOBAL-DANGEROUS" in rules(b"(S'id'\nios\nsystem\n.")  # INST (picklescan issue #13)
    assert "PICKLE-GLOBAL-DANGEROUS" in rules(
        b"(c__builtin__\neval\nS'1'\no."
    )  # OBJ, protocol-0 name mapping
    assert "PICKLE-GLOBAL-DANGEROUS" in rules(b"c__builtin__\nexec\n(S'x'\ntR.")


def test_unknown_global_is_high_not_silent() -> None:
    a = analyse_pickle_bytes(pk_call("mypkg.evil", "helper"))
    assert a.max_severity() == Severity.high and {i.rule for i in a.issues} == {"PICKLE-GLOBAL-UNKNOWN"}
    assert classify_global("collections", "OrderedDict")[0] == "safe"
    assert classify_global("torch", "FloatStorage")[0] == "safe"
    assert classify_global("numpy.dtypes", "Float32DType")[0] == "safe"
    assert classify_global("torch", "load")[0] == "dangerous"
    assert (
        classify_global("builtins", "set")[0] == "safe"
        and classify_global("builtins", "setattr")[0] == "dangerous"
    )


def test_computed_stack_global_is_unresolved_critical() -> None:
    # module name produced by a call (the ImaginaryCTF / memo-confusion family): STACK_GLOBAL on a non-literal
    data = (
        b"\x80\x04"
        + pk_str("collections")
        + pk_str("OrderedDict")
        + b"\x93)R"
        + pk_str("system")
        + b"\x93"
        + pk_str("id")
        + b"\x85R."
    )
    assert "PICKLE-GLOBAL-UNRESOLVED" in rules(data)


def test_dotted_name_and_whitespace_tricks() -> None:
    assert "PICKLE-GLOBAL-DANGEROUS" in rules(pk_call("torch", "serialization.load"))
    assert "PICKLE-GLOBAL-DANGEROUS" in rules(pk_call("builtins", "getattr.__call__"))
    assert "PICKLE-GLOBAL-DANGEROUS" in rules(pk_call("os ", "system"))


def test_ext_build_on_global_and_indirect_call_are_flagged() -> None:
    assert "PICKLE-EXT" in rules(b"\x80\x02\x82\x01" + pk_str("id") + b"\x85R.")
    build = b"\x80\x04" + pk_str("collections") + pk_str("OrderedDict") + b"\x93}" + pk_str("x") + b"K\x01sb."
    assert "PICKLE-BUILD-GLOBAL" in rules(build)
    indirect = b"\x80\x04" + pk_str("collections") + pk_str("OrderedDict") + b"\x93)R)R."
    assert "PICKLE-INDIRECT-CALL" in rules(indirect)


def test_payload_after_a_benign_pickle_and_nested_pickles_are_found() -> None:
    two = pickle.dumps([1, 2]) + pk_call("os", "system")
    assert "PICKLE-GLOBAL-DANGEROUS" in rules(two)
    inner = pk_call("subprocess", "check_output")
    wrapper = b"\x80\x04C" + bytes([len(inner)]) + inner + b"."
    r = rules(wrapper)
    assert "PICKLE-NESTED" in r and "PICKLE-GLOBAL-DANGEROUS" in r


def test_malicious_opcodes_before_garbage_still_reported() -> None:
    data = pk_call("os", "system")[:-1] + b"\xff\xfe garbage"
    r = rules(data)
    assert "PICKLE-GLOBAL-DANGEROUS" in r and "PICKLE-MALFORMED" in r


def test_bounds_deep_marks_huge_lengths_and_expansion() -> None:
    tracemalloc.start()  # count work, not seconds: nothing declared huge is materialised
    assert "PICKLE-LIMIT" in rules(b"\x80\x02" + b"(" * 20_000 + b".")
    assert "PICKLE-MALFORMED" in rules(b"\x80\x04\x8d" + struct.pack("<Q", 2**62) + b"abc.")
    assert "PICKLE-MALFORMED" in rules(b"\x80\x04\x8e" + struct.pack("<Q", 2**40) + b"abc.")
    assert "PICKLE-LIMIT" in rules(b"S'" + b"a" * (2 << 20))  # protocol-0 line longer than the cap
    laughs = b"\x80\x04]\x94" + b"h\x00" * 30_000 + b"0" * 30_000 + b"."
    assert "PICKLE-EXPANSION" in rules(laughs)
    small = PickleLimits(max_ops=1000)
    assert any(
        i.rule == "PICKLE-LIMIT"
        for i in analyse_pickle_bytes(b"\x80\x02" + b"N0" * 5000 + b"N.", limits=small).issues
    )
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 32 * 2**20  # the 2 MiB line twice at most, never the 2**62-byte string or the expansion


def test_sniffing() -> None:
    assert looks_like_pickle(b"\x80\x02}q\x00")
    assert looks_like_pickle(b"cos\nsystem\n")
    assert not looks_like_pickle(b'{"a": 1}')
    assert not looks_like_pickle(b"# README\n")


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.binary(max_size=300).map(lambda b: b"\x80\x04" + b)))
def test_fuzz_random_streams_end_in_an_analysis(data: bytes) -> None:
    a = analyse_pickle_bytes(data)
    assert a.complete or a.issues


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz_mutated_malicious_pickles_never_crash_and_stay_flagged_until_broken(
    data: st.DataObject,
) -> None:
    base = bytearray(pk_call("os", "system", proto=data.draw(st.integers(2, 5))))
    i = data.draw(st.integers(0, len(base) - 1))
    base[i] = data.draw(st.integers(0, 255))
    a = analyse_pickle_bytes(bytes(base))
    assert a.issues  # a mutated os.system pickle is never reported clean
