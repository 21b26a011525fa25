/** Polls `check` every `everyMs` until it is true or `timeoutMs` passed; resolves with the outcome. */
export async function waitUntil(check: () => boolean, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return true;
}

/**
 * Whether `work` ends (settles either way) within `ms`: true once it does, false at the limit;
 * with no limit, once it ends. The promise is never rejected.
 */
export async function endsWithin(work: Promise<unknown>, ms?: number): Promise<boolean> {
  const ended = work.then(
    () => true,
    () => true,
  );
  if (ms === undefined) return ended;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([ended, late]);
  } finally {
    clearTimeout(timer);
  }
}
