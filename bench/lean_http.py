"""A lean HTTP/1.1 client for load generators: keep-alive connections over asyncio
streams, requests written as bytes, answers parsed just enough (status, headers, a
``Content-Length`` or chunked body).

On a machine the service shares with its load generator, httpx's own cost per
request (about a millisecond of one core) caps an asyncio generator near 150
requests/s, so above that the figures measured the generator. This one costs a
fraction of that.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class LeanClient:
    """Up to ``connections`` keep-alive connections to ``host:port``; each request
    takes an idle one or opens one, and puts it back when its answer is read."""

    def __init__(
        self,
        host: str,
        port: int,
        headers: dict[str, str],
        connections: int = 64,
        timeout_s: float = 30.0,
    ) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.fixed = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.idle: list[Connection] = []
        self.slots = asyncio.Semaphore(connections)

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Answer:
        if params:
            path = f"{path}?{urlencode(params)}"
        return await self.request("GET", path, None)

    async def post(self, path: str, json: Any) -> Answer:
        return await self.request("POST", path, orjson.dumps(json))

    async def request(self, method: str, path: str, body: bytes | None) -> Answer:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self.fixed}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        message = (head + "\r\n").encode() + (body or b"")
        async with self.slots, asyncio.timeout(self.timeout_s):
            while True:
                reused = bool(self.idle)
                reader, writer = (
                    self.idle.pop()
                    if reused
                    else await asyncio.open_connection(self.host, self.port)
                )
                try:
                    writer.write(message)
                    answer, keep = await _read_answer(reader)
                except (asyncio.IncompleteReadError, ConnectionError) as exc:
                    writer.close()
                    # The server closed an idle connection as this request went out on
                    # it (its keep-alive ran out): send it again on a new one, as
                    # HTTP clients do. On a new connection, the failure is the answer.
                    if reused and not getattr(exc, "partial", b""):
                        continue
                    raise
                except BaseException:
                    writer.close()
                    raise
                if keep:
                    self.idle.append((reader, writer))
                else:
                    writer.close()
                return answer

    async def __aenter__(self) -> LeanClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _read_answer(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
    """An answer, and whether its connection may be used again."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            parts.append(await reader.readexactly(size + 2))
        await reader.readuntil(b"\r\n")
        content = b"".join(part[:-2] for part in parts)
    else:
        content = await reader.readexactly(int(headers.get("content-length", "0")))
    keep = headers.get("connection", "").lower() != "close"
    return Answer(status, {_title(name): value for name, value in headers.items()}, content), keep


def _title(name: str) -> str:
    """``retry-after`` as ``Retry-After``: the spelling callers look headers up by."""
    return "-".join(word.capitalize() for word in name.split("-"))
