"""A scripted model server speaking OpenAI's HTTP APIs, for the demo, the tests and the bench.

``ModelServer`` serves ``POST /v1/chat/completions`` (what ``openai-chat:`` models and most
OpenAI-compatible servers speak) and ``POST /v1/responses`` (the Responses API that
``openai:`` models use), streamed as server-sent events or whole, from a ``Script``.
It records every request, the moments it sent each delta (``record_sends=True``) and the
streams its clients abandoned, so a test can check what reached the model and when::

    async with ModelServer(scripted(Reply(text=["Hel", "lo"]))) as model:
        ...  # point OPENAI_BASE_URL (or an OpenAIProvider) at model.url
    assert model.requests[0].prompt() == "Say hello"

Run ``python -m runstream.demo.model_server --port 8001`` to serve the demo's script.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Iterator
from types import TracebackType

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from runstream.demo.model_script import (
    Api,
    Encoder,
    Frame,
    ModelRequest,
    Reply,
    Script,
    error_body,
)


class _Cut(Exception):
    """Raised inside a response stream to drop the connection mid-way."""


class ModelServer:
    """A real HTTP server on 127.0.0.1 answering OpenAI API requests from a script."""

    def __init__(
        self, script: Script, *, port: int = 0, record_sends: bool = False, name: str = "scripted"
    ) -> None:
        """Args:
        script: Chooses the reply to each request.
        port: The port to listen on; 0 picks a free one.
        record_sends: Record ``time.time()`` as each delta is handed to the connection.
        name: Shown in ``GET /v1/models``.
        """
        self.script = script
        self.requests: list[ModelRequest] = []
        """Every request received, in order."""
        self.sent: list[float] = []
        """Send times of the deltas (with ``record_sends``)."""
        self.abandoned: list[float] = []
        """``time.time()`` of each stream the client closed before it was finished."""
        self.completed = 0
        """Streams sent to the end."""
        self._record = record_sends
        self._port = port
        self._name = name
        self._encoder = Encoder()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.app = Starlette(
            routes=[
                Route(prefix + "/chat/completions", self._chat, methods=["POST"])
                for prefix in ("/v1", "")
            ]
            + [
                Route(prefix + "/responses", self._responses, methods=["POST"])
                for prefix in ("/v1", "")
            ]
            + [Route("/v1/models", self._models, methods=["GET"])]
        )

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The base URL to use as ``OPENAI_BASE_URL``."""
        return f"http://127.0.0.1:{self._port}/v1"

    async def __aenter__(self) -> ModelServer:
        sock = socket.create_server(("127.0.0.1", self._port))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="model-server")
        async with asyncio.timeout(10):
            while not self._server.started:
                if self._task.done():
                    self._task.result()
                await asyncio.sleep(0.005)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, 10)

    async def _models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": self._name, "object": "model"}]})

    async def _chat(self, request: Request) -> Response:
        return await self._answer(request, "chat")

    async def _responses(self, request: Request) -> Response:
        return await self._answer(request, "responses")

    async def _answer(self, http: Request, api: Api) -> Response:
        body = orjson.loads(await http.body())
        request = ModelRequest(api, body)
        self.requests.append(request)
        reply = self.script(request)
        if reply.status >= 400 and reply.fail_after is None:
            return JSONResponse(error_body(reply), status_code=reply.status)
        model = request.model
        if not request.stream:
            whole = (
                self._encoder.chat_completion(reply, model)
                if api == "chat"
                else self._encoder.response(reply, model)
            )
            return JSONResponse(whole)
        frames: Iterator[Frame]
        if api == "chat":
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            frames = self._encoder.chat_stream(reply, model, include_usage)
            failure = self._encoder.chat_stream_error(reply)
        else:
            frames = self._encoder.responses_stream(reply, model)
            failure = self._encoder.responses_stream_error(reply, model)
        return StreamingResponse(
            self._paced(frames, reply, failure),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache"},
        )

    async def _paced(
        self, frames: Iterator[Frame], reply: Reply, failure: bytes
    ) -> AsyncIterator[bytes]:
        """The frames on the reply's schedule; failed or cut where the reply says."""
        start = time.monotonic()
        deltas = 0
        finished = cut = False
        try:
            for frame in frames:
                if frame.delta:
                    if reply.fail_after is not None and deltas >= reply.fail_after:
                        yield failure
                        break
                    if reply.cut_after is not None and deltas >= reply.cut_after:
                        cut = True
                        raise _Cut(f"cut after {deltas} deltas")
                    deltas += 1
                    if reply.delay > 0:
                        wait = start + deltas * reply.delay - time.monotonic()
                        if wait > 0:
                            await asyncio.sleep(wait)
                    if self._record:
                        self.sent.append(time.time())
                yield frame.data
            finished = True
            self.completed += 1
        finally:
            if not finished and not cut:
                self.abandoned.append(time.time())


def main() -> None:
    """Serve the demo's script until interrupted."""
    from runstream.demo.driver import model_script

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()

    async def serve() -> None:
        async with ModelServer(model_script(), port=args.port) as server:
            print(f"scripted model server: OPENAI_BASE_URL={server.url}", flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
