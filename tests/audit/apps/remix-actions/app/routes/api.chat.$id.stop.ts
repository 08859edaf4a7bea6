import type { ActionFunctionArgs } from '@remix-run/node';
import { runs } from '~/lib/runs.server';

export async function action({ params }: ActionFunctionArgs) {
  runs.get(params.id!)?.abort();
  runs.delete(params.id!);
  return new Response(null, { status: 204 });
}
