"""Global rate limiting in Redis: token buckets per scope, shared cool-downs, adaptive rates."""

from worker.ratelimit.adaptive import parse_limit_headers
from worker.ratelimit.keys import scope_key
from worker.ratelimit.limiter import Grant, Limiter, Reservation, Usage

__all__ = ["Grant", "Limiter", "Reservation", "Usage", "parse_limit_headers", "scope_key"]
