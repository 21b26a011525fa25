/**
 * The configuration reference as Markdown, generated from the schema (scripts/config-reference.ts
 * writes it to docs/configuration.md).
 */
import { schema } from './schema.ts';

interface Leaf {
  doc: string;
  default: unknown;
  env?: string;
}

function isLeaf(v: unknown): v is Leaf {
  return typeof v === 'object' && v !== null && 'doc' in v && 'default' in v;
}

/** Every key of the schema with its definition: `redis.url`, `worker.concurrency`, ... */
export function schemaKeys(node: Record<string, unknown> = schema as never, prefix = ''): [string, Leaf][] {
  return Object.entries(node).flatMap(([key, v]) =>
    isLeaf(v)
      ? [[prefix + key, v] as [string, Leaf]]
      : schemaKeys(v as Record<string, unknown>, `${prefix}${key}.`),
  );
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function configReference(): string {
  const rows = schemaKeys().map(
    ([key, leaf]) =>
      `| \`${key}\` | ${leaf.env ? `\`${leaf.env}\`` : ''} | \`${cell(JSON.stringify(leaf.default))}\` | ${cell(leaf.doc)} |`,
  );
  return `# Configuration reference

Generated from \`src/config/schema.ts\` by \`npm run docs:config\`; do not edit by hand.

Every setting comes from, lowest first: these defaults (\`config/default.json\`), the config file
(\`--config FILE\` or \`RESQUE_WORKER_CONFIG\`), the environment variable, then a command-line flag
(\`--redis\`, \`--namespace\`, \`--queues\`, \`--jobs\`, \`--concurrency\`, \`--prefetch\`,
\`--interval\`, \`--log-level\`). \`QUEUES\` is read as \`QUEUE\` (and wins over it), as Resque does. Unknown keys and bad
values stop \`start\`, \`work\` and \`config check\` with exit 78 and a message naming the key; a
reload (HUP) with a bad file keeps the old config. \`resque-worker config check\` prints the
effective config.

| key | environment | default | meaning |
|---|---|---|---|
${rows.join('\n')}
`;
}
