"""The emulated Kubernetes API of tests/support/kubeapi.py, stopping promptly.

Kopf keeps watch streams open; after the operator process has gone the emulator's stream
handlers still wait on their event bus, and aiohttp's runner waits up to 60 s for them (the
base class's thread join gives up after 10 s). Each test here starts its own API, so that
wait would cost ~10 s per test. This subclass serves the same emulator with a short shutdown.
"""

from __future__ import annotations

import aiohttp.web

from tests.support.kubeapi import KubeAPI

SHUTDOWN_SECONDS = 0.5


class PromptKubeAPI(KubeAPI):
    """KubeAPI whose stop() gives open watch streams half a second, not a minute."""

    async def _serve(self) -> None:
        import asyncio

        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        async with self.emulator:
            runner = aiohttp.web.ServerRunner(
                aiohttp.web.Server(self.emulator),
                access_log=None,
                shutdown_timeout=SHUTDOWN_SECONDS,
            )
            await runner.setup()
            site = aiohttp.web.TCPSite(runner, self._host, self._port)
            await site.start()
            host, port = runner.addresses[0][:2]
            self.url = f"http://{host}:{port}"
            self._ready.set()
            try:
                await self._stopping.wait()
            finally:
                await runner.cleanup()
