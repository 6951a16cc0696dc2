"""The echo baseline's websocket: joins one group and forwards what is sent to it,
dispatched as the live pages' consumers are (`DirectDispatchMixin`)."""

from channels.generic.websocket import AsyncWebsocketConsumer

from bench.views import ECHO_GROUP
from contactcenter.websocket_dispatch import DirectDispatchMixin


class EchoConsumer(DirectDispatchMixin, AsyncWebsocketConsumer):
    group = ""

    async def connect(self) -> None:
        self.group = ECHO_GROUP.format(int(self.scope["url_route"]["kwargs"]["group"]))
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data="ready")

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def bench_echo(self, event: dict) -> None:
        await self.send(text_data=event["text"])
