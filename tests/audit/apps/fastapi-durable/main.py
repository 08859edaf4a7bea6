"""FastAPI chat with a durable run: the producer is a task that appends every chunk to a Redis
stream; any reader attaches by run id and resumes after Last-Event-ID; stop and steer are their
own requests that reach the producer through Redis."""
import asyncio
import os
import uuid
from typing import Annotated

import redis.asyncio as redis
from fastapi import FastAPI, Header
from fastapi.responses import StreamingResponse
from openai import AsyncOpenAI

app = FastAPI()
r = redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379"))
client = AsyncOpenAI(base_url=os.environ.get("OPENAI_BASE_URL"))
tasks: dict[str, asyncio.Task] = {}


async def produce(run_id: str, messages: list[dict]) -> None:
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
    async for chunk in stream:
        steer = await r.lpop(f"steer:{run_id}")
        if steer:
            messages.append({"role": "user", "content": steer.decode()})
        await r.xadd(f"run:{run_id}", {"text": chunk.choices[0].delta.content or ""})
    await r.xadd(f"run:{run_id}", {"end": "done"})


@app.post("/api/runs")
async def start(body: dict):
    run_id = uuid.uuid4().hex
    tasks[run_id] = asyncio.create_task(produce(run_id, body["messages"]))
    return {"run_id": run_id, "stream": f"/api/runs/{run_id}/stream"}


@app.get("/api/runs/{run_id}/stream")
async def stream(run_id: str, last_event_id: Annotated[str | None, Header()] = None):
    async def events():
        cursor = last_event_id or "0"
        while True:
            batch = await r.xread({f"run:{run_id}": cursor}, block=15000)
            for _, entries in batch:
                for entry_id, fields in entries:
                    cursor = entry_id.decode()
                    if b"end" in fields:
                        yield f"id: {cursor}\nevent: end\ndata: done\n\n"
                        return
                    yield f"id: {cursor}\ndata: {fields[b'text'].decode()}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


@app.post("/api/runs/{run_id}/cancel")
async def cancel(run_id: str):
    task = tasks.get(run_id)
    if task:
        task.cancel()
    await r.xadd(f"run:{run_id}", {"end": "cancelled"})
    return {"cancelled": True}


@app.post("/api/runs/{run_id}/steer")
async def steer(run_id: str, body: dict):
    await r.rpush(f"steer:{run_id}", body["text"])
    return {"queued": True}
