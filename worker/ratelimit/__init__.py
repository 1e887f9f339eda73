"""Global rate limiting in Redis: token buckets per scope, shared cool-downs, adaptive rates."""

from labrun.worker.ratelimit.adaptive import parse_limit_headers
from labrun.worker.ratelimit.keys import scope_key
from labrun.worker.ratelimit.limiter import Grant, Limiter, Reservation, Usage

__all__ = ["Grant", "Limiter", "Reservation", "Usage", "parse_limit_headers", "scope_key"]
