"""OpenAI-compatible endpoint access: the async client and the embedded llama.cpp server launcher."""

from __future__ import annotations

from clearance.endpoint.client import OpenAIClient, normalize_base_url
from clearance.endpoint.records import ChatRequest, ChatResponse, Timeouts, Usage

__all__ = ["ChatRequest", "ChatResponse", "OpenAIClient", "Timeouts", "Usage", "normalize_base_url"]
