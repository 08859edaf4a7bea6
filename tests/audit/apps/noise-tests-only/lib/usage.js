import { appendFile } from 'node:fs/promises';

// Usage accounting: one line per request; a slow disk must not delay the answer.
export async function recordUsage(user, route) {
  await appendFile('usage.log', `${new Date().toISOString()} ${user ?? '-'} ${route}\n`);
}
