"""Every test here starts and ends with no faults switched on at the hub."""

from tests.support.hub_faults import clean_hub

__all__ = ["clean_hub"]
