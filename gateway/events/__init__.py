"""Events as portals see them: the one envelope used by webhooks and the pull feed (``GET /v1/events``)."""
