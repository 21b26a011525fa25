/**
 * Shell access to the client: `enqueue <queue> <Class> [json-arg ...] [--track]` prints the job id;
 * `status <id>` prints its status. Args are JSON when they parse as JSON, else plain strings.
 */
import { ResqueClient } from '../client/client.ts';
import { loadConfig } from '../config/load-config.ts';
import { configFile, overridesFrom, parseCommon } from './args.ts';

function clientFrom(argv: string[], extra: Record<string, { type: 'boolean' | 'string' }> = {}) {
  const { values, positionals } = parseCommon(argv, extra);
  const config = loadConfig({ file: configFile(values), overrides: overridesFrom(values) });
  const client = new ResqueClient({ redisUrl: config.redis.url, namespace: config.redis.namespace });
  return { client, positionals, values: values as Record<string, unknown> };
}

export async function enqueueCommand(argv: string[]): Promise<number> {
  const { client, positionals, values } = clientFrom(argv, { track: { type: 'boolean' } });
  try {
    const [queue, className, ...rest] = positionals;
    if (!queue || !className) {
      console.error('usage: resque-worker enqueue <queue> <Class> [json-arg ...] [--track]');
      return 2;
    }
    const args = rest.map((a) => {
      try {
        return JSON.parse(a) as unknown;
      } catch {
        return a;
      }
    });
    console.log(await client.enqueue(queue, className, args, { trackStatus: values.track === true }));
    return 0;
  } finally {
    await client.close();
  }
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { client, positionals, values } = clientFrom(argv, { json: { type: 'boolean' } });
  try {
    const [id] = positionals;
    if (!id) {
      console.error('usage: resque-worker status <job-id> [--json]');
      return 2;
    }
    const status = await client.status(id);
    console.log(values.json ? JSON.stringify(status) : status.status);
    return status.status === 'unknown' ? 1 : 0;
  } finally {
    await client.close();
  }
}
