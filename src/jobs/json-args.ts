/**
 * Job arguments must survive JSON unchanged, or the job runs with other values than it was given,
 * silently: JSON.stringify turns a Date into a string, a Map or Set into {}, NaN into null, an
 * undefined array element into null, and drops functions. So enqueue refuses them, naming the
 * value (Sidekiq's strict_args does the same). An undefined object property is allowed, and so
 * are undefineds at the end of the args: they are left out, and read back as undefined.
 */

export class JobArgsError extends TypeError {
  override name = 'JobArgsError';
}

/**
 * The args to send: trailing undefineds left out (an optional parameter not given: perform sees
 * undefined either way), anything else JSON would change refused.
 */
export function jsonArgs(className: string, args: readonly unknown[]): readonly unknown[] {
  const sent = withoutTrailingUndefined(args);
  const problem = problemIn(sent, 'args', new Set());
  if (problem) throw new JobArgsError(`args of ${className}: ${problem}`);
  return sent;
}

/** The args as enqueue sends them: undefineds at the end left out. */
export function withoutTrailingUndefined<T extends readonly unknown[] | unknown[]>(args: T): T {
  let end = args.length;
  while (end > 0 && args[end - 1] === undefined) end--;
  return end === args.length ? args : (args.slice(0, end) as T);
}

function problemIn(value: unknown, path: string, ancestors: Set<object>): string | null {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(value)
        ? null
        : `${path} is ${value}: JSON has no such number (it would arrive as null)`;
    case 'undefined':
      return `${path} is undefined: JSON has none (it would arrive as null); pass null or leave it out`;
    case 'bigint':
      return `${path} is a BigInt: JSON cannot carry it; pass it as a string`;
    case 'function':
    case 'symbol':
      return `${path} is a ${typeof value}: JSON cannot carry it`;
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.has(object)) return `${path} refers to an object that contains it: JSON cannot carry a cycle`;
  if (Array.isArray(object)) {
    ancestors.add(object);
    for (let i = 0; i < object.length; i++) {
      const p = problemIn(object[i], `${path}[${i}]`, ancestors);
      if (p) return p;
    }
    ancestors.delete(object);
    return null;
  }
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) return notPlain(object, path);
  ancestors.add(object);
  for (const [key, v] of Object.entries(object)) {
    if (v === undefined) continue;
    const p = problemIn(
      v,
      `${path}${/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}`,
      ancestors,
    );
    if (p) return p;
  }
  ancestors.delete(object);
  return null;
}

function notPlain(object: object, path: string): string {
  if (object instanceof Date)
    return `${path} is a Date: JSON would make it a string; pass date.toISOString() or date.getTime()`;
  const kind = (object as { constructor?: { name?: string } }).constructor?.name || 'object with a prototype';
  const becomes =
    typeof (object as { toJSON?: unknown }).toJSON === 'function'
      ? 'what its toJSON returns'
      : 'a plain object';
  return `${path} is a ${kind}, not plain JSON: it would arrive as ${becomes}`;
}
