import { expect, it } from 'vitest';
import { streamAnswer } from '../lib/answer.js';

async function drain(messages) {
  const stream = await streamAnswer(messages);
  let n = 0;
  for await (const _ of stream) n += 1;
  return n;
}

it('streams while the test does other work', async () => {
  let done = false;
  void drain([{ role: 'user', content: 'hi' }]).then(() => (done = true));
  expect(done).toBe(false);
});
