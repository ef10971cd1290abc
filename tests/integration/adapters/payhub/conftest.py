"""Fixtures of the hub sandbox tests; the servers and helpers live in ``tests.support.payhub_sandbox``."""

from tests.support.payhub_sandbox import clean, client, control, hub, receiver

__all__ = ["clean", "client", "control", "hub", "receiver"]
