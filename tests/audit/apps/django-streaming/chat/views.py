import json

from anthropic import Anthropic
from django.core.cache import cache
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_POST

client = Anthropic()


def stream(request, chat_id):
    prompt = request.GET.get("q", "")

    def events():
        # The model is streamed while this response is read: the run lives in this request.
        with client.messages.stream(model="claude-3-5-haiku-latest", max_tokens=1024,
                                    messages=[{"role": "user", "content": prompt}]) as s:
            for text in s.text_stream:
                if cache.get(f"stop:{chat_id}"):
                    break
                yield f"data: {json.dumps({'text': text})}\n\n"

    return StreamingHttpResponse(events(), content_type="text/event-stream")


@require_POST
def stop_generation(request, chat_id):
    cache.set(f"stop:{chat_id}", True, 600)
    return JsonResponse({"ok": True})
