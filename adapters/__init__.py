"""Integrations with the systems outside the gateway: the national payment hub and the public postal service.

Adapters import nothing from ``gateway``; each one keeps its protocol's rules (message shapes, checksums,
codes) as pure functions beside a thin HTTP client and a sandbox that plays the other side.
"""
