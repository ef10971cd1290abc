"""Fixtures of the postal integration tests: the sandbox and receiver of ``tests.support.postal_sandbox``."""

from tests.support.postal_sandbox import client, control, receiver, sandbox_url

__all__ = ["client", "control", "receiver", "sandbox_url"]
