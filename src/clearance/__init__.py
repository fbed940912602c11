"""Clearance: the offline approval run for open-weight LLMs.

Boxes (each a package with a small public surface; they exchange plain typed data):

- ``clearance.model``    artifact intake: files, sha256 manifest, architecture spec, card, license
- ``clearance.scan``     integrity and supply-chain findings
- ``clearance.plan``     memory, fit and performance estimates
- ``clearance.tco``      total cost of ownership
- ``clearance.endpoint`` OpenAI-compatible async client and the embedded llama.cpp server
- ``clearance.evals``    suites = dataset + prompt + scorer -> per-sample records -> metrics with CIs
- ``clearance.load``     load generator and latency metrics
- ``clearance.policy``   gates over evidence -> decision
- ``clearance.dossier``  evidence bundle, signatures, HTML report
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("clearance")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
