import OpenAI from 'openai';

const openai = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL });

export function streamAnswer(messages, signal) {
  return openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, { signal });
}
