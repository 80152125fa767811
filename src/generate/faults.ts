import { CATALOG } from './catalog.js';
import type { FaultKind, Needs } from './fault-draft.js';
import { identity, time } from './faults-ids-time.js';
import { malformed } from './faults-json.js';
import { values } from './faults-values.js';
import type { Rng } from './prng.js';
import { SEARCH_TERMS, TERM_START } from './search-terms.js';
import { ADD_TO_CART, PAGE_VIEW, PURCHASE, REMOVE_FROM_CART, SEARCH, type SimEvent } from './sessions.js';

/** Every way a line is made dirty (SPEC §3), with what the pipeline should make of it. */
export const FAULT_KINDS: readonly FaultKind[] = [...malformed, ...identity, ...time, ...values];

/**
 * Blank lines (SPEC §3: nothing but whitespace). They are extra lines: a dirty line is preceded
 * by one about once per deck cycle, and they are not part of the fault rate or of `lines`.
 */
export const BLANK_LINES: readonly string[] = ['', '   ', '\t', '\r', ' \t \r', '\f', '\v', '  \r'];

/**
 * Deals fault kinds like cards from a shuffled deck, so every kind appears once per
 * `FAULT_KINDS.length + 1` dirty lines (the extra card is a blank line).
 */
export class FaultDeck {
  private cards: (FaultKind | 'blank')[] = [];

  constructor(private readonly rng: Rng) {}

  draw(): FaultKind | 'blank' {
    if (this.cards.length === 0) this.cards = this.rng.shuffle([...FAULT_KINDS, 'blank']);
    return this.cards.pop() as FaultKind | 'blank';
  }
}

const hasProduct = (t: number): boolean => t !== SEARCH;
const isCart = (t: number): boolean => t === ADD_TO_CART || t === REMOVE_FROM_CART || t === PURCHASE;
const isPriced = (t: number): boolean => t === ADD_TO_CART || t === PURCHASE;

/** Turns the event into one the fault applies to (a search cannot lose its product_id). */
export function coerce(e: SimEvent, needs: Needs, rng: Rng): void {
  const toProduct = (type: number): void => {
    if (e.product < 0) e.product = CATALOG.sample(rng);
    if (e.quantity === 0 && type !== PAGE_VIEW) e.quantity = 1;
    e.type = type;
    e.query = -1;
  };
  if (needs === 'product' && !hasProduct(e.type)) toProduct(PAGE_VIEW);
  else if (needs === 'cart' && !isCart(e.type)) toProduct(rng.chance(0.5) ? ADD_TO_CART : PURCHASE);
  else if (needs === 'priced' && !isPriced(e.type)) toProduct(rng.chance(0.5) ? ADD_TO_CART : PURCHASE);
  else if (needs === 'search' && e.type !== SEARCH) {
    const c = e.product >= 0 ? CATALOG.category[e.product] : CATALOG.sampleCategory(rng);
    e.type = SEARCH;
    e.query = TERM_START[c] + rng.int(SEARCH_TERMS[c].length);
    e.product = -1;
    e.quantity = 0;
  }
}
