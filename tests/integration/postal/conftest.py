"""Fixtures of the postal integration tests (defined in ``postal_harness``, a uniquely named module)."""

from postal_harness import client, control, receiver, sandbox_url

__all__ = ["client", "control", "receiver", "sandbox_url"]
