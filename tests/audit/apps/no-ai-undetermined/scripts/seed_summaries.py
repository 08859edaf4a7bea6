"""Seed script: writes a model summary per todo, streamed; run by hand, never by the app."""
import asyncio

from openai import AsyncOpenAI

client = AsyncOpenAI()


async def summarise(title: str) -> str:
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": title}], stream=True
    )
    return "".join([chunk.choices[0].delta.content or "" async for chunk in stream])


async def main():
    asyncio.create_task(summarise("buy milk"))


asyncio.run(main())
