import asyncio

from openai import AsyncOpenAI

from app.server import sio

client = AsyncOpenAI()
tasks: dict[str, asyncio.Task] = {}


async def generate(chat_id: str, messages: list) -> None:
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
    async for chunk in stream:
        # Every socket in the chat's room (all tabs and devices) receives the deltas.
        await sio.emit("delta", {"text": chunk.choices[0].delta.content or ""}, room=chat_id)
    await sio.emit("done", {}, room=chat_id)


@sio.on("join")
async def join(sid, data):
    await sio.enter_room(sid, data["chat_id"])


@sio.on("chat")
async def chat(sid, data):
    # The run is a task of the server, not of this socket: a dropped socket only stops receiving.
    tasks[data["chat_id"]] = asyncio.create_task(generate(data["chat_id"], data["messages"]))


@sio.on("stop")
async def stop(sid, data):
    task = tasks.pop(data["chat_id"], None)
    if task:
        task.cancel()
