"""agents-relay migrated with the dsx kit (issue 17). The orchestrator still plans, but each
sub-agent streams into its own run (lane) of the conversation's dsx session with
clients/python/dsx_agent.py instead of returning only its final text through an opaque tool:
every reader sees each sub-agent's progress live, a stop cancels the run it is addressed to, and
the whole conversation runs in a task that outlives the request."""
import asyncio
import os

from agents import Agent, Runner, function_tool
from dsx_agent import DsxAgent
from fastapi import FastAPI

dsx = DsxAgent(os.environ.get("DSX_SERVER", "http://127.0.0.1:4437"))
researcher = Agent(name="researcher", instructions="Find facts and cite sources.")
writer = Agent(name="writer", instructions="Write the final answer from the research notes.")
tasks: set[asyncio.Task] = set()


async def stream_into_run(session: str, lane: str, agent: Agent, task: str, steers: list[str]) -> str:
    """Run one agent streamed, appending its text to its own run of the session."""
    async with dsx.run(session, lane=lane, on_steer=lambda ctl: steers.append(ctl.text)) as run:
        result = Runner.run_streamed(agent, input=task + "".join(f"\n{s}" for s in steers))
        async for event in result.stream_events():
            if run.cancelled:  # control.cancel for this run: stop the agent, keep what it wrote
                result.cancel()
                break
            if event.type == "raw_response_event":
                run.append(getattr(event.data, "delta", "") or "")
        return result.final_output or ""


def orchestrator_for(session: str, steers: list[str]) -> Agent:
    @function_tool
    async def research(question: str) -> str:
        """Research a question (streams into the session's 'research' lane)."""
        return await stream_into_run(session, "research", researcher, question, steers)

    @function_tool
    async def write(notes: str) -> str:
        """Write the answer (streams into the session's 'write' lane)."""
        return await stream_into_run(session, "write", writer, notes, steers)

    return Agent(name="orchestrator", instructions="Research first, then write.", tools=[research, write])


async def converse(session: str, question: str) -> None:
    steers: list[str] = []
    await stream_into_run(session, "main", orchestrator_for(session, steers), question, steers)


app = FastAPI()


@app.post("/api/ask")
async def ask(body: dict):
    task = asyncio.create_task(converse(body["session"], body["question"]))
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return {"session": body["session"]}
