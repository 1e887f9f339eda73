"""An offline stand-in for LLM providers.

``brain`` answers classification prompts deterministically; ``server`` serves it over the OpenAI and
Anthropic wire formats (with latency, rate limits and error injection) for tests and benchmarks.
The server is not imported here so that the brain stays cheap to import.
"""

from shared.fake_llm.brain import answer, count_tokens

__all__ = ["answer", "count_tokens"]
