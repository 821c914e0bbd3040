"""The accept loop both fronts share: one task per connection, in a task group that outlives the
loop, so that stopping accepting lets open connections finish their current request."""

from collections.abc import Callable, Coroutine
from typing import Any

import anyio
from anyio.abc import ByteStream, SocketListener, TaskStatus

from routerd.app import App


ServeConnection = Callable[[App, ByteStream], Coroutine[Any, Any, None]]


async def serve_listener(app: App, listener: SocketListener, serve_connection: ServeConnection, *,
                         task_status: TaskStatus[anyio.CancelScope] = anyio.TASK_STATUS_IGNORED) -> None:
    """Serve ``listener`` until the cancel scope handed to ``task_status`` is cancelled, then wait
    for the open connections (idle ones are closed by ``app.begin_drain``)."""
    async with anyio.create_task_group() as connections:
        with anyio.CancelScope() as accepting:
            task_status.started(accepting)
            async with listener:
                while True:
                    stream = await listener.accept()
                    connections.start_soon(serve_connection, app, stream)
