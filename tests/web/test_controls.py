"""Controls mapping: every default-policy gate maps to cited controls; a policy can bring its own; the
sealed report shows the mapping."""

from __future__ import annotations

from clearance.controls import FRAMEWORKS, controls_for, known_ids, process_controls, sources
from clearance.policy import decide, load_policy, parse_policy


def test_every_default_gate_is_mapped_to_controls_the_table_names():
    policy = load_policy(None)
    for gate in policy.gates:
        refs = controls_for(gate.id, gate.fact, gate.controls)
        assert not refs.is_empty(), gate.id
        assert refs.basis in ("direct", "judgement", "family", "policy")
        for key in FRAMEWORKS:
            for cid in getattr(refs, key):
                assert cid in known_ids(key), f"{gate.id}: {cid} has no title/source in the table"
    assert set(sources()) == set(FRAMEWORKS)
    assert "GV-1.3-002" in process_controls().nist_ai_600_1


def test_issue_examples_are_cited():
    cited = {cid for key in ("nist_ai_600_1",) for cid in known_ids(key)}
    for cid in ("MS-2.3", "MS-2.7-001", "MS-2.11-001", "GV-1.3-002"):
        assert cid in cited
    assert {"Art. 9", "Art. 10", "Art. 12", "Art. 14", "Art. 15"} <= known_ids("eu_ai_act")


def test_a_policy_brings_its_own_mapping_into_the_decision_and_report():
    policy = parse_policy(
        """
name: own-controls
version: 1
gates:
  - id: house-rule
    description: house rule
    fact: evals.capability-basic.accuracy
    operator: ">="
    threshold: 0.5
    controls: {nist_ai_600_1: [MS-2.5-001], iso_iec_42001: [A.6.2.4], note: our internal control C-17}
""",
        source="own.yaml",
    )
    d = decide(policy, {"evals.capability-basic.accuracy": 0.9})
    g = d.gates[0]
    assert g.controls is not None and g.controls["nist_ai_600_1"] == ["MS-2.5-001"]
    refs = controls_for(g.id, g.fact, g.controls)
    assert refs.basis == "policy" and refs.note == "our internal control C-17"


def test_unknown_gate_falls_back_to_its_fact_family():
    refs = controls_for("my-gate", "load.itl_p95_s")
    assert refs.basis == "family" and "MS-2.6" in refs.nist_ai_600_1


def test_report_shows_the_controls(tmp_path):
    from web_fixtures import make_dossier

    html = (make_dossier(tmp_path) / "report.html").read_text()
    assert 'id="controls"' in html
    assert "MS-2.3-002" in html and "A.6.2.4" in html and "NIST AI 600-1" in html


def test_default_gates_have_their_own_mapping_not_just_a_family():
    """New default gates get an explicit row (the family fallback is for gates of other policies)."""
    for gate in load_policy(None).gates:
        assert controls_for(gate.id, gate.fact).basis != "family", f"{gate.id}: add it to controls.yaml"


def test_the_table_names_each_gate_once():
    """Two rows for one gate would silently keep only the last one."""
    import re
    from importlib import resources

    text = resources.files("clearance.controls").joinpath("data/controls.yaml").read_text("utf-8")
    gates = text.split("\ngates:\n", 1)[1].split("\nfamilies:", 1)[0]
    ids = re.findall(r"^  ([A-Za-z0-9][A-Za-z0-9_.\-]*):\s*$", gates, re.M)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
