"""FastAPI chat: the OpenAI call runs inside the response generator and stops when the client leaves."""
import json
import os

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from openai import AsyncOpenAI

app = FastAPI()
client = AsyncOpenAI(base_url=os.environ.get("OPENAI_BASE_URL"))


@app.post("/api/chat")
async def chat(request: Request):
    body = await request.json()

    async def events():
        stream = await client.chat.completions.create(
            model=os.environ.get("MODEL", "gpt-4o-mini"),
            messages=body["messages"],
            stream=True,
        )
        async for chunk in stream:
            if await request.is_disconnected():
                await stream.close()
                break
            delta = chunk.choices[0].delta.content or ""
            yield f"data: {json.dumps({'text': delta})}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
