/**
 * The exact text of one top-level member of a JSON object, without parsing and re-serialising it:
 * JSON.stringify(JSON.parse(x)) turns 1790000000000000001 into 1790000000000000000 and 1.0 into 1,
 * and peers match jobs by exact bytes. Returns undefined if the text is not an object holding `key`.
 */
export function rawJsonValue(text: string, key: string): string | undefined {
  const span = rawJsonValueSpan(text, key);
  return span && text.slice(span[0], span[1]);
}

/**
 * The text with one top-level member's value replaced by `valueJson` (JSON text), every other
 * byte kept; undefined if the text is not an object holding `key`.
 */
export function replaceRawJsonValue(text: string, key: string, valueJson: string): string | undefined {
  const span = rawJsonValueSpan(text, key);
  return span && text.slice(0, span[0]) + valueJson + text.slice(span[1]);
}

/**
 * The text of a JSON object with the top-level member `key` set to `valueJson` (JSON text):
 * replaced in place if there, else added at the end; every other byte kept.
 */
export function setRawJsonValue(text: string, key: string, valueJson: string): string {
  const replaced = replaceRawJsonValue(text, key, valueJson);
  if (replaced !== undefined) return replaced;
  const end = text.lastIndexOf('}');
  const empty = /^\s*\{\s*$/.test(text.slice(0, end));
  return `${text.slice(0, end)}${empty ? '' : ','}${JSON.stringify(key)}:${valueJson}${text.slice(end)}`;
}

/** Where the value of the top-level member `key` starts and ends in the text of a JSON object. */
function rawJsonValueSpan(text: string, key: string): [number, number] | undefined {
  let i = skipSpace(text, 0);
  if (text[i] !== '{') return undefined;
  i++;
  for (;;) {
    i = skipSpace(text, i);
    if (text[i] !== '"') return undefined;
    const keyEnd = endOfString(text, i);
    const name = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipSpace(text, keyEnd);
    if (text[i] !== ':') return undefined;
    const start = skipSpace(text, i + 1);
    const end = endOfValue(text, start);
    if (end < 0) return undefined;
    if (name === key) return [start, end];
    i = skipSpace(text, end);
    if (text[i] !== ',') return undefined;
    i++;
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  return i;
}

/** Index just past the string starting at `i` (a quote). */
function endOfString(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j + 1;
  }
  return -1;
}

/** Index just past the value starting at `i`: a string, an object/array (balanced), or a scalar. */
function endOfValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return endOfString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') {
        j = endOfString(text, j) - 1;
        if (j < 0) return -1;
      } else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  let j = i;
  while (j < text.length && !',}] \t\n\r'.includes(text[j]!)) j++;
  return j > i ? j : -1;
}
