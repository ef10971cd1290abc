"""The public postal service (postal v1): item codes, states, messages, webhook signatures, addresses, client.

The sandbox that plays the post lives in ``adapters.postal.sandbox``. Unit data comes from the MIT-licensed
``vietnamadminunits`` package (see ``NOTICE``).
"""

from .addresses import Address, convert_legacy, validate_address
from .admin_units import ADMIN_VERSION
from .client import PostalClient, PostalConfig
from .codes import ShipmentState, advances
from .errors import (
    AddressError,
    InputError,
    OrderError,
    OutcomeUnknown,
    PhoneError,
    PostalError,
    PostalProtocolError,
    PostalRejected,
    PostalUnavailable,
    WebhookRejected,
)
from .messages import CreateOrder, OrderCreated, OrderDetail, Party, StatusEvent, TrackingPage, parse_event
from .phones import normalise_phone
from .statements import CodLine, CodStatement

__all__ = [
    "ADMIN_VERSION",
    "Address",
    "AddressError",
    "CodLine",
    "CodStatement",
    "CreateOrder",
    "InputError",
    "OrderCreated",
    "OrderDetail",
    "OrderError",
    "OutcomeUnknown",
    "Party",
    "PhoneError",
    "PostalClient",
    "PostalConfig",
    "PostalError",
    "PostalProtocolError",
    "PostalRejected",
    "PostalUnavailable",
    "ShipmentState",
    "StatusEvent",
    "TrackingPage",
    "WebhookRejected",
    "advances",
    "convert_legacy",
    "normalise_phone",
    "parse_event",
    "validate_address",
]
