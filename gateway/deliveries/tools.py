"""What the web app needs for webhooks: the secret box and an HTTP client for test deliveries."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from gateway.settings import Settings

from . import sender
from .secret_box import SecretBox


@dataclass
class WebhookTools:
    box: SecretBox
    http: httpx.AsyncClient

    @classmethod
    def build(cls, settings: Settings) -> WebhookTools:
        return cls(box=SecretBox.from_settings(settings), http=sender.client(settings))

    async def aclose(self) -> None:
        await self.http.aclose()
