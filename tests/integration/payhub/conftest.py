"""Fixtures of the hub sandbox tests; the servers and helpers live in ``harness``."""

from tests.integration.payhub.harness import clean, client, control, hub, receiver

__all__ = ["clean", "client", "control", "hub", "receiver"]
