"""Warms the provider's prompt cache before a demo by streaming a few canned questions."""
import asyncio

from openai import AsyncOpenAI

client = AsyncOpenAI()


async def ask(question: str) -> None:
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": question}], stream=True
    )
    async for _ in stream:
        pass


async def main() -> None:
    tasks = [asyncio.create_task(ask(q)) for q in ("hello", "what can you do?")]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    asyncio.run(main())
