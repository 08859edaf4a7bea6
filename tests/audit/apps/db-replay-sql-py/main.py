"""FastAPI chat whose generation log is a Postgres table: a background task writes every delta
as a row (run_id, seq, data); GET /runs/{id}/events streams the rows after the Last-Event-ID (or
?after=) the reader sends, as SSE with id lines, and keeps polling until the run's last row.
There is no stop route: closing the EventSource only detaches the reader."""
import asyncio
import json
import os
import uuid
from typing import Annotated

import asyncpg
from fastapi import FastAPI, Header
from fastapi.responses import StreamingResponse
from openai import AsyncOpenAI

app = FastAPI()
client = AsyncOpenAI(base_url=os.environ.get("OPENAI_BASE_URL"))
pool: asyncpg.Pool | None = None
running: set[asyncio.Task] = set()

SCHEMA = """
CREATE TABLE IF NOT EXISTS run_events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
)
"""


@app.on_event("startup")
async def connect() -> None:
    global pool
    pool = await asyncpg.create_pool(os.environ["DATABASE_URL"])
    await pool.execute(SCHEMA)


async def append(run_id: str, seq: int, kind: str, data: str) -> None:
    await pool.execute(
        "INSERT INTO run_events (run_id, seq, kind, data) VALUES ($1, $2, $3, $4)", run_id, seq, kind, data
    )


async def produce(run_id: str, messages: list[dict]) -> None:
    seq = 0
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
    async for chunk in stream:
        delta = chunk.choices[0].delta.content
        if delta:
            seq += 1
            await append(run_id, seq, "delta", delta)
    await append(run_id, seq + 1, "end", "")


@app.post("/runs")
async def start(body: dict):
    run_id = uuid.uuid4().hex
    task = asyncio.create_task(produce(run_id, body["messages"]))
    running.add(task)
    task.add_done_callback(running.discard)
    return {"run_id": run_id, "events": f"/runs/{run_id}/events"}


@app.get("/runs/{run_id}/events")
async def events(run_id: str, after: int = 0, last_event_id: Annotated[str | None, Header()] = None):
    cursor = int(last_event_id) if last_event_id else after

    async def rows():
        nonlocal cursor
        while True:
            batch = await pool.fetch(
                "SELECT seq, kind, data FROM run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq", run_id, cursor
            )
            for row in batch:
                cursor = row["seq"]
                yield f"id: {cursor}\nevent: {row['kind']}\ndata: {json.dumps(row['data'])}\n\n"
                if row["kind"] == "end":
                    return
            await asyncio.sleep(0.25)

    return StreamingResponse(rows(), media_type="text/event-stream")
