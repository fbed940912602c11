"""Determinism probe: the same greedy request repeated gives the same answer (batch invariance)."""

from __future__ import annotations

import asyncio
from collections import Counter

from pydantic import BaseModel, Field

from clearance.endpoint import ChatRequest
from clearance.endpoint.pool import Endpoint
from clearance.errors import EndpointError, InputError
from clearance.evidence import EndpointRef, ToolInfo, utc_now
from clearance.stats import wilson_interval

DEFAULT_PROMPTS = [
    "Explain in three sentences why the sky is blue.",
    "Write a short poem about a lighthouse.",
    "List five prime numbers and explain what makes a number prime.",
    "Describe how a bicycle works.",
]


class PromptDeterminism(BaseModel):
    """Outcome for one prompt: how many distinct answers its repeats produced."""

    prompt: str
    repeats: int
    errors: int
    unique_outputs: int
    identical_to_mode: int
    first_divergence_char: int | None = None
    outputs: list[str] = Field(default_factory=list)


class DeterminismResult(BaseModel):
    """Share of identical outputs across repeated temperature-0, fixed-seed requests."""

    kind: str = "determinism"
    endpoint: EndpointRef
    tool: ToolInfo = Field(default_factory=ToolInfo)
    started_at: str
    repeats: int
    concurrency: int
    max_tokens: int
    seed: int
    outputs_total: int
    identical_rate: float
    identical_rate_ci: tuple[float, float]
    prompts_all_identical: int
    prompts: list[PromptDeterminism]
    measured_how: str = (
        "each prompt sent `repeats` times at temperature 0 with a fixed seed, `concurrency` at a time "
        "(so server batch sizes vary); identical_rate = outputs equal to their prompt's most common "
        "output / all successful outputs"
    )

    def policy_facts(self) -> dict[str, object]:
        """Flat ``load.determinism.*`` facts."""
        return {
            "load.determinism.identical_rate": self.identical_rate,
            "load.determinism.identical_rate.ci_low": self.identical_rate_ci[0],
            "load.determinism.identical_rate.ci_high": self.identical_rate_ci[1],
            "load.determinism.prompts_all_identical_rate": (
                self.prompts_all_identical / len(self.prompts) if self.prompts else 0.0
            ),
            "load.determinism.n": self.outputs_total,
        }


def _divergence(a: str, b: str) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


async def probe_determinism(
    client: Endpoint,
    prompts: list[str] | None = None,
    repeats: int = 5,
    *,
    max_tokens: int = 64,
    seed: int = 0,
    concurrency: int = 4,
) -> DeterminismResult:
    """Send each prompt ``repeats`` times (temperature 0, same seed) and measure identical outputs."""
    prompts = list(prompts or DEFAULT_PROMPTS)
    if repeats < 2:
        raise InputError(f"determinism needs at least 2 repeats per prompt, got {repeats}")
    served = await client.served_model()
    started = utc_now()
    sem = asyncio.Semaphore(max(1, concurrency))

    async def one(prompt: str) -> str | None:
        async with sem:
            req = ChatRequest(
                messages=[{"role": "user", "content": prompt}],
                max_tokens=max_tokens,
                temperature=0.0,
                seed=seed,
            )
            try:
                return (await client.chat(req)).text
            except EndpointError:
                return None

    per_prompt: list[PromptDeterminism] = []
    total_ok = identical = all_same = 0
    results = await asyncio.gather(*(one(p) for p in prompts for _ in range(repeats)))
    for k, prompt in enumerate(prompts):
        outs = results[k * repeats : (k + 1) * repeats]
        ok = [o for o in outs if o is not None]
        counts = Counter(ok)
        mode, mode_n = counts.most_common(1)[0] if counts else ("", 0)
        divergence = None
        for o in ok:
            if o != mode:
                d = _divergence(mode, o)
                divergence = d if divergence is None else min(divergence, d)
        per_prompt.append(
            PromptDeterminism(
                prompt=prompt,
                repeats=repeats,
                errors=len(outs) - len(ok),
                unique_outputs=len(counts),
                identical_to_mode=mode_n,
                first_divergence_char=divergence,
                outputs=list(counts),
            )
        )
        total_ok += len(ok)
        identical += mode_n
        all_same += int(len(counts) == 1 and len(ok) == repeats)
    return DeterminismResult(
        endpoint=EndpointRef(url=client.base_url, served_model=served),
        started_at=started,
        repeats=repeats,
        concurrency=concurrency,
        max_tokens=max_tokens,
        seed=seed,
        outputs_total=total_ok,
        identical_rate=identical / total_ok if total_ok else 0.0,
        identical_rate_ci=wilson_interval(identical, total_ok),
        prompts_all_identical=all_same,
        prompts=per_prompt,
    )
