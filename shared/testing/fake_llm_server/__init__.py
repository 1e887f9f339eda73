"""A fake LLM server for tests and benchmarks: the OpenAI and Anthropic wire formats on loopback,
with latency, rate limits and error injection. It answers with labrun.shared.core.fake_model."""
