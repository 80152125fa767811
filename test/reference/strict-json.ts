/**
 * A strict RFC 8259 parser for the reference implementation, written from the RFC and nothing
 * else: whitespace is space, tab, LF, CR only; no NaN/Infinity, comments, trailing commas, single
 * quotes, leading zeros, `+1`, `.5` or `1.`; control characters must be escaped inside strings.
 *
 * Values keep what a lossy parser would throw away: numbers stay as their source text, objects as
 * their ordered (key, value) pairs, duplicates included. It is iterative (an explicit stack), so a
 * depth of 10,000 or more parses like any other value.
 *
 * One decision the RFC leaves open (§8.2): a `\u` escape that is a lone UTF-16 surrogate
 * ("\ud800") follows the grammar but cannot be turned into Unicode text. strata refuses it:
 * such a line is `malformed_json` (see test/reliability/README.md).
 */

export type JsonValue =
  | { readonly t: 'obj'; readonly entries: readonly (readonly [string, JsonValue])[] }
  | { readonly t: 'arr'; readonly items: readonly JsonValue[] }
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'num'; readonly text: string }
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'null' };

export class JsonSyntaxError extends Error {}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

type Frame =
  | { kind: 'obj'; entries: [string, JsonValue][]; key?: string }
  | { kind: 'arr'; items: JsonValue[] };

/** Parses one JSON text (a whole line, surrounding whitespace allowed); throws JsonSyntaxError. */
export function parseStrictJson(text: string): JsonValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at ${i}`);
  };
  const ws = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const str = (): string => {
    if (text[i] !== '"') fail('expected a string');
    i++;
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return out;
      }
      if (c < 0x20) fail('raw control character in string');
      if (c !== 0x5c) {
        out += text[i];
        i++;
        continue;
      }
      const e = text[i + 1];
      i += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const unit = hex4();
          if (unit >= 0xd800 && unit <= 0xdbff) {
            // A high surrogate must be followed by an escaped low one.
            if (text[i] !== '\\' || text[i + 1] !== 'u') fail('lone surrogate escape');
            i += 2;
            const low = hex4();
            if (low < 0xdc00 || low > 0xdfff) fail('lone surrogate escape');
            out += String.fromCharCode(unit, low);
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            fail('lone surrogate escape');
          } else {
            out += String.fromCharCode(unit);
          }
          break;
        }
        default:
          fail('bad escape');
      }
    }
  };
  const hex4 = (): number => {
    const h = text.slice(i, i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('bad \\u escape');
    i += 4;
    return parseInt(h, 16);
  };
  const scalar = (): JsonValue => {
    const c = text[i];
    if (c === '"') return { t: 'str', v: str() };
    if (text.startsWith('true', i)) return (i += 4), { t: 'bool', v: true };
    if (text.startsWith('false', i)) return (i += 5), { t: 'bool', v: false };
    if (text.startsWith('null', i)) return (i += 4), { t: 'null' };
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail('expected a value');
    i += m[0].length;
    return { t: 'num', text: m[0] };
  };

  const stack: Frame[] = [];
  let result: JsonValue | undefined;
  /** Hands a finished value to the enclosing container, or makes it the result. */
  const emit = (v: JsonValue): void => {
    const top = stack[stack.length - 1];
    if (!top) result = v;
    else if (top.kind === 'arr') top.items.push(v);
    else {
      top.entries.push([top.key!, v]);
      top.key = undefined;
    }
  };

  ws();
  // Each turn: we are at the start of a value (inside a container or at the top).
  let expectValue = true;
  for (;;) {
    if (expectValue) {
      ws();
      const c = text[i];
      if (c === '{') {
        i++;
        ws();
        const frame: Frame = { kind: 'obj', entries: [] };
        stack.push(frame);
        if (text[i] === '}') {
          i++;
          stack.pop();
          emit({ t: 'obj', entries: frame.entries });
          expectValue = false;
          continue;
        }
        frame.key = str();
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        continue;
      }
      if (c === '[') {
        i++;
        ws();
        const frame: Frame = { kind: 'arr', items: [] };
        stack.push(frame);
        if (text[i] === ']') {
          i++;
          stack.pop();
          emit({ t: 'arr', items: frame.items });
          expectValue = false;
          continue;
        }
        continue;
      }
      emit(scalar());
      expectValue = false;
      continue;
    }
    // After a value: a separator, a closing bracket, or the end.
    ws();
    const top = stack[stack.length - 1];
    if (!top) break;
    const c = text[i];
    if (c === ',') {
      i++;
      ws();
      if (top.kind === 'obj') {
        top.key = str();
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
      }
      expectValue = true;
      continue;
    }
    if (top.kind === 'obj' && c === '}') {
      i++;
      stack.pop();
      emit({ t: 'obj', entries: top.entries });
      continue;
    }
    if (top.kind === 'arr' && c === ']') {
      i++;
      stack.pop();
      emit({ t: 'arr', items: top.items });
      continue;
    }
    fail('expected , or a closing bracket');
  }
  if (i !== text.length) fail('trailing characters');
  return result!;
}

/**
 * A canonical text of a value, for comparing two JSON texts by meaning: numbers by exact decimal
 * value (1.10 = 1.1 = 11e-1), strings exactly, object members in order, duplicates kept.
 */
export function canonicalJson(root: JsonValue): string {
  // An explicit stack, like the parser: nesting 10,000 deep is fine.
  const out: string[] = [];
  const todo: (JsonValue | string)[] = [root];
  while (todo.length > 0) {
    const v = todo.pop()!;
    if (typeof v === 'string') {
      out.push(v);
      continue;
    }
    switch (v.t) {
      case 'obj':
      case 'arr': {
        const parts: (JsonValue | string)[] = [];
        if (v.t === 'obj') v.entries.forEach(([k, x], i) => parts.push(...(i > 0 ? [','] : []), `${JSON.stringify(k)}:`, x));
        else v.items.forEach((x, i) => parts.push(...(i > 0 ? [','] : []), x));
        out.push(v.t === 'obj' ? '{' : '[');
        todo.push(v.t === 'obj' ? '}' : ']', ...parts.reverse());
        break;
      }
      case 'str':
        out.push(JSON.stringify(v.v));
        break;
      case 'num': {
        const d = parseDecimal(v.text);
        out.push(d ? canonicalDecimal(d) : `?${v.text}`);
        break;
      }
      case 'bool':
        out.push(String(v.v));
        break;
      case 'null':
        out.push('null');
        break;
    }
  }
  return out.join('');
}

/** An exact decimal: (-1)^neg * digits * 10^exp. */
export interface Decimal {
  readonly neg: boolean;
  readonly digits: bigint;
  readonly exp: number;
}

const DECIMAL_TEXT = /^([+-]?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/;

/** `[+-]digits[.digits][e[+-]digits]` exactly; undefined otherwise. */
export function parseDecimal(text: string): Decimal | undefined {
  const m = DECIMAL_TEXT.exec(text);
  if (!m) return undefined;
  const frac = m[3] ?? '';
  const expText = m[4] ?? '0';
  // Exponents this large mean 0 or "over any limit"; keep them as numbers without building 10^1e9.
  const exp = Number(expText) - frac.length;
  return { neg: m[1] === '-', digits: BigInt(m[2]! + frac), exp };
}

function canonicalDecimal(d: Decimal): string {
  if (d.digits === 0n) return '0';
  let digits = d.digits;
  let exp = d.exp;
  while (digits % 10n === 0n) {
    digits /= 10n;
    exp++;
  }
  return `${d.neg ? '-' : ''}${digits}e${exp}`;
}
