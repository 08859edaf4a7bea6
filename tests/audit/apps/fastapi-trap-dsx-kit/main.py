"""fastapi-trap migrated with the dsx kit (issue 17): the OpenAI stream runs in a task that
outlives the request and writes into the chat's dsx session with clients/python/dsx_agent.py.
Every tab reads the session (resume by offset, the same answer everywhere); Stop is a
control.cancel on the run, which closes the upstream stream; steering text is queued and sent with
the next model call."""
import asyncio
import os

from dsx_agent import DsxAgent
from fastapi import FastAPI
from openai import AsyncOpenAI

app = FastAPI()
client = AsyncOpenAI(base_url=os.environ.get("OPENAI_BASE_URL"))
dsx = DsxAgent(os.environ.get("DSX_SERVER", "http://127.0.0.1:4437"))
tasks: set[asyncio.Task] = set()


async def answer(session: str, messages: list[dict]) -> None:
    steers: list[str] = []
    async with dsx.run(session, on_steer=lambda ctl: steers.append(ctl.text)) as run:
        stream = await client.chat.completions.create(
            model=os.environ.get("MODEL", "gpt-4o-mini"),
            messages=messages + [{"role": "user", "content": s} for s in steers],
            stream=True,
        )
        async for chunk in stream:
            if run.cancelled:  # control.cancel arrived: stop the model, keep the text so far
                await stream.close()
                break
            run.append(chunk.choices[0].delta.content or "")


@app.post("/api/chat")
async def chat(body: dict):
    session = body["session"]
    task = asyncio.create_task(answer(session, body["messages"]))
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return {"session": session}
