/**
 * Glob matching exactly as Redis's `stringmatchlen` (KEYS, SCAN MATCH, CONFIG GET, PSUBSCRIBE):
 * `*`, `?`, `[abc]`, `[^a]`, `[a-z]`, and `\x` escapes, over binary (latin1) strings.
 *
 * @module
 */

/**
 * True when `text` matches `pattern`.
 *
 * @example
 * ```ts
 * import { globMatch } from "./glob.ts";
 * console.assert(globMatch("h?llo", "hello"));
 * console.assert(globMatch("h[^e]llo", "hallo"));
 * console.assert(!globMatch("h[a-b]llo", "hello"));
 * console.assert(!globMatch("*", ""));
 * ```
 */
export function globMatch(pattern: string, text: string, nocase = false): boolean {
  // No shortcut for "*": like Redis's, it does not match the empty string (PSUBSCRIBE * misses
  // the channel ""); KEYS and the SCAN family skip matching for "*" themselves, as Redis does.
  return match(pattern, 0, text, 0, nocase, 0) === 1;
}

// Returns 1 match, 0 no match, -1 "skip longer" (the text ran out: no later start can match).
function match(
  p: string,
  pi: number,
  s: string,
  si: number,
  nocase: boolean,
  depth: number,
): number {
  // Redis bounds recursion to stop pathological patterns from taking forever.
  if (depth > 1000) return 0;
  const plen = p.length;
  const slen = s.length;
  while (pi < plen && si < slen) {
    const pc = p.charCodeAt(pi);
    switch (pc) {
      case 42: { // '*'
        while (pi + 1 < plen && p.charCodeAt(pi + 1) === 42) pi++;
        if (pi + 1 === plen) return 1;
        while (si < slen) {
          const r = match(p, pi + 1, s, si, nocase, depth + 1);
          if (r === 1) return 1;
          if (r === -1) return -1;
          si++;
        }
        return -1;
      }
      case 63: // '?'
        si++;
        break;
      case 91: { // '['
        pi++;
        const not = p.charCodeAt(pi) === 94; // '^'
        if (not) pi++;
        let matched = false;
        for (;;) {
          const c = p.charCodeAt(pi);
          if (c === 92 && pi + 2 <= plen) { // '\\'
            pi++;
            if (p.charCodeAt(pi) === s.charCodeAt(si)) matched = true;
          } else if (c === 93) { // ']'
            break;
          } else if (pi >= plen) {
            pi--;
            break;
          } else if (pi + 2 < plen && p.charCodeAt(pi + 1) === 45) { // a-z
            // Compared as C's signed chars, as Redis compares them: bytes from 0x80 are below 0.
            let start = signed(c);
            let end = signed(p.charCodeAt(pi + 2));
            let ch = signed(s.charCodeAt(si));
            if (start > end) [start, end] = [end, start];
            if (nocase) {
              start = lower(start);
              end = lower(end);
              ch = lower(ch);
            }
            pi += 2;
            if (ch >= start && ch <= end) matched = true;
          } else if (nocase ? lower(c) === lower(s.charCodeAt(si)) : c === s.charCodeAt(si)) {
            matched = true;
          }
          pi++;
        }
        if (not) matched = !matched;
        if (!matched) return 0;
        si++;
        break;
      }
      case 92: // '\\'
        if (pi + 1 < plen) pi++;
        // falls through
      default: {
        const c = p.charCodeAt(pi);
        if (nocase ? lower(c) !== lower(s.charCodeAt(si)) : c !== s.charCodeAt(si)) return 0;
        si++;
      }
    }
    pi++;
    if (si === slen) {
      while (pi < plen && p.charCodeAt(pi) === 42) pi++;
      break;
    }
  }
  return pi === plen && si === slen ? 1 : 0;
}

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** A byte as C's signed char. */
function signed(b: number): number {
  return b >= 128 ? b - 256 : b;
}
