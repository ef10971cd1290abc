"""The lookup pages' limiter is the gateway's one limiter (see ``gateway.ratelimit``)."""

from gateway.ratelimit import RateLimiter

__all__ = ["RateLimiter"]
