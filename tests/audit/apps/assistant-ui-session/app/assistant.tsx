'use client';
import { AssistantRuntimeProvider, Thread } from '@assistant-ui/react';
import { AssistantChatTransport, useChatRuntime } from '@assistant-ui/react-ai-sdk';
import { createResumableSessionStorage } from 'assistant-stream/resumable';

export function Assistant() {
  const runtime = useChatRuntime({
    transport: new AssistantChatTransport({
      api: '/api/chat',
      resumable: {
        storage: createResumableSessionStorage(),
        resumeApi: (id: string) => `/api/chat/resume/${id}`,
      },
    }),
  });
  return (
    <AssistantRuntimeProvider runtime={runtime}>
      <Thread />
    </AssistantRuntimeProvider>
  );
}
