"""Orchestrator with sub-agents wrapped as tools: only their final answers reach the client."""
import json

from agents import Agent, Runner
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

researcher = Agent(name="researcher", instructions="Find facts and cite sources.")
writer = Agent(name="writer", instructions="Write the final answer from the research notes.")

orchestrator = Agent(
    name="orchestrator",
    instructions="Research first, then write.",
    tools=[
        researcher.as_tool(tool_name="research", tool_description="research a question"),
        writer.as_tool(tool_name="write", tool_description="write the answer"),
    ],
)

app = FastAPI()


@app.post("/api/ask")
async def ask(body: dict):
    result = Runner.run_streamed(orchestrator, input=body["question"])

    async def events():
        async for event in result.stream_events():
            if event.type == "raw_response_event":
                yield f"data: {json.dumps({'delta': getattr(event.data, 'delta', '')})}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
