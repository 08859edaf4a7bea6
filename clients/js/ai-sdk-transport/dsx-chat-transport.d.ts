// Types for dsx-chat-transport.js (@dsx/ai-sdk-transport). See docs/ai-sdk-transport.md.
import type { ChatTransport, ChatRequestOptions, UIMessage, UIMessageChunk } from "ai";

export interface DsxStartInfo {
  /** The run the agent started in the session. */
  run: string;
  /** A session offset before the run's run.start (where reading the run begins). */
  offset: string;
  /** The session, when it is not the one the transport named. */
  sessionId?: string;
}

export interface DsxChatTransportOptions<UI_MESSAGE extends UIMessage = UIMessage> {
  /** Base URL of `dsx session serve`; omitted: the page's own origin. */
  server?: string;
  /** dsx token, or an (async) function returning one (called for every request). */
  token?: string | (() => string | undefined | Promise<string | undefined>);
  /** chat id -> session id (default: the chat id). */
  sessionId?: (chatId: string) => string;
  /** The model sent to the LLM proxy (default "default"). */
  model?: string;
  /** LLM proxy upstream name (`--llm-proxy NAME=URL`); omitted: the default upstream. */
  upstream?: string;
  /** Extra headers for the LLM proxy request (e.g. the upstream's Authorization). */
  headers?: Record<string, string>;
  /** Extra JSON fields for the LLM proxy request. */
  body?: Record<string, unknown>;
  /** UI messages -> the upstream's messages (default: text parts, OpenAI chat shape). */
  toUpstreamMessages?: (messages: UI_MESSAGE[]) => unknown[];
  /** The app's backend starts the agent; replaces the LLM proxy request. */
  start?: (options: {
    chatId: string;
    sessionId: string;
    messages: UI_MESSAGE[];
    trigger: "submit-message" | "regenerate-message";
    messageId: string | undefined;
    headers?: ChatRequestOptions["headers"];
    body?: ChatRequestOptions["body"];
    metadata?: ChatRequestOptions["metadata"];
  }) => Promise<DsxStartInfo>;
  /** Where the chat's current run is remembered (default localStorage, else memory; null: memory). */
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null;
  fetch?: typeof globalThis.fetch;
  /** Waits between reconnects after a drop, in ms (the last repeats). */
  retryDelaysMs?: number[];
  /** A live read silent this long is reopened (default 35000 ms). */
  idleTimeoutMs?: number;
  /** Post control.cancel when the abort signal fires (default true). */
  cancelOnStop?: boolean;
}

export declare class DsxChatTransport<UI_MESSAGE extends UIMessage = UIMessage> implements ChatTransport<UI_MESSAGE> {
  constructor(options?: DsxChatTransportOptions<UI_MESSAGE>);
  readonly resumeStreamIsReplay: true;
  sendMessages: ChatTransport<UI_MESSAGE>["sendMessages"];
  reconnectToStream: ChatTransport<UI_MESSAGE>["reconnectToStream"];
  /** The chat's history from the session (user.message events, one assistant message per run). */
  loadMessages(chatId: string, options?: { signal?: AbortSignal }): Promise<UI_MESSAGE[]>;
  /** Posts control.cancel for the chat's current run. */
  cancel(chatId: string, reason?: string): Promise<unknown>;
  /**
   * Posts control.steer for the chat's active run (a string: `data.text`; or `{text?, json?}`) and
   * resolves with the server's answer; rejects when the chat has no active run or the server refuses.
   * The steered continuation arrives in the open stream as more messages of the same run.
   */
  steer(chatId: string, steer: string | { text?: string; json?: Record<string, unknown> },
        options?: { signal?: AbortSignal }): Promise<{ offset?: string; outcome?: unknown; [k: string]: unknown }>;
}

export interface RunChunkMapper {
  readonly run: string;
  readonly done: boolean;
  readonly reason: string | null;
  startChunks(): UIMessageChunk[];
  map(event: unknown): UIMessageChunk[];
}
export declare function createRunChunkMapper(run: string): RunChunkMapper;
export declare function createSseParser(onEvent: (e: { event: string; id: string | null; data: string }) => void): { push(text: string): void };
export declare function toOpenAiMessages(messages: UIMessage[]): { role: "system" | "user" | "assistant"; content: string }[];
export declare function messageIdForRun(run: string): string;
export default DsxChatTransport;
