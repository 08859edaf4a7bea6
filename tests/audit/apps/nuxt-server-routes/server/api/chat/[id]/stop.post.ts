import { runs } from '../../../utils/runs';

export default defineEventHandler((event) => {
  const id = getRouterParam(event, 'id')!;
  runs.get(id)?.abort();
  runs.delete(id);
  setResponseStatus(event, 204);
  return null;
});
