"""Event delivery: every outbox event is sent, signed, to its portal's webhook, at least once, retried with
back-off for about a day and then dead-lettered (replayable). The worker's relay claims due events and hands them
to per-portal delivery jobs, a few per portal at most; a per-portal circuit breaker keeps one dead portal from
slowing the others.

Modules: ``signing`` (the ``Gateway-Signature`` header), ``secret_box`` (secrets at rest) and ``reseal`` (moving
them to a new key), ``urls`` (reading a webhook URL), ``addresses`` (which addresses a webhook may reach, pure),
``transport`` (connections that resolve, check and connect in one step), ``policy`` (retry schedule and circuit
breaker, pure), ``state`` (delivery states, fair claims and packing, pure), ``repository`` (all the SQL),
``endpoints`` (the portal's webhook configuration and its secrets), ``sender`` (one HTTP attempt), ``relay`` (the
worker's claims), ``dispatch`` (delivering a claimed batch), ``service`` (the portal's controls), ``presenter``,
``controller``, ``jobs``.

The public surface: the portal's controls (``WebhookService``), what they are built from (``WebhookTools``), the
worker's use cases (``claim``, ``Delivery``), and an operator's key work (``reseal``, ``new_key``, ``SecretBox``).
"""

from .dispatch import BatchReport, Delivery
from .relay import ClaimReport, claim
from .reseal import ResealReport, reseal
from .secret_box import SecretBox, legacy_hub_key, new_key
from .service import WebhookService
from .tools import WebhookTools

__all__ = [
    "BatchReport",
    "ClaimReport",
    "Delivery",
    "ResealReport",
    "SecretBox",
    "WebhookService",
    "WebhookTools",
    "claim",
    "legacy_hub_key",
    "new_key",
    "reseal",
]
