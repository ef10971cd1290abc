"""What the web app needs for webhooks: the secret box, and the guarded HTTP clients for the address check at
save time and for test deliveries."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.settings import Settings

from .secret_box import SecretBox
from .transport import WebhookHttp


@dataclass
class WebhookTools:
    box: SecretBox
    http: WebhookHttp

    @classmethod
    def build(cls, settings: Settings) -> WebhookTools:
        return cls(box=SecretBox.from_settings(settings), http=WebhookHttp.build(settings))

    async def aclose(self) -> None:
        await self.http.aclose()
