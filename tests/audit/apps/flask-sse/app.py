import json

from flask import Flask, Response, request, stream_with_context
from openai import OpenAI

app = Flask(__name__, static_folder="static")
client = OpenAI()
stop_requested: dict[str, bool] = {}


@app.route("/api/chat/<chat_id>", methods=["POST"])
def chat(chat_id):
    messages = request.get_json()["messages"]
    stop_requested[chat_id] = False

    def generate():
        # The generator runs while the response is being read: the run lives in this request.
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
        for chunk in stream:
            if stop_requested.get(chat_id):
                stream.close()
                break
            yield f"data: {json.dumps({'delta': chunk.choices[0].delta.content or ''})}\n\n"

    return Response(stream_with_context(generate()), mimetype="text/event-stream")


@app.route("/api/chat/<chat_id>/stop", methods=["POST"])
def stop(chat_id):
    stop_requested[chat_id] = True
    return "", 204
