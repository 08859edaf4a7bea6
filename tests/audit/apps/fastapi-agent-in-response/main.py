"""A wrong migration: DsxAgent writes the answer into the session, but from inside the response
generator, which stops when the client leaves. The session has the text so far; nothing finishes
the answer after a drop, so the audit must still report the single-connection trap."""
import os

from dsx_agent import DsxAgent
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from openai import AsyncOpenAI

app = FastAPI()
client = AsyncOpenAI()
dsx = DsxAgent(os.environ.get("DSX_SERVER", "http://127.0.0.1:4437"))


@app.post("/api/chat")
async def chat(request: Request):
    body = await request.json()

    async def events():
        with dsx.run(body["session"]) as run:
            stream = await client.chat.completions.create(model="gpt-4o-mini", messages=body["messages"], stream=True)
            async for chunk in stream:
                if await request.is_disconnected():
                    break
                delta = chunk.choices[0].delta.content or ""
                run.append(delta)
                yield f"data: {delta}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
