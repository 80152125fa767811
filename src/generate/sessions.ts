import { CATALOG } from './catalog.js';
import type { Rng } from './prng.js';
import { SEARCH_TERMS, TERM_START } from './search-terms.js';

export const PAGE_VIEW = 0;
export const SEARCH = 1;
export const ADD_TO_CART = 2;
export const REMOVE_FROM_CART = 3;
export const PURCHASE = 4;
export const EVENT_TYPES: readonly string[] = ['page_view', 'search', 'add_to_cart', 'remove_from_cart', 'purchase'];

/** One event as the simulation produced it; the line writer turns it into JSON. Reused. */
export interface SimEvent {
  type: number;
  /** Product index into CATALOG, -1 for none. */
  product: number;
  /** 0 for none. */
  quantity: number;
  /** Index into TERMS, -1 for none. */
  query: number;
  /** Numeric user id (written as its digits). */
  user: number;
  /** Session id `s-` + these two words in hex. */
  sessionHi: number;
  sessionLo: number;
}

export function emptyEvent(): SimEvent {
  return { type: PAGE_VIEW, product: -1, quantity: 0, query: -1, user: 0, sessionHi: 0, sessionLo: 0 };
}

/** Users: ids 1000000.. with a skew (a minority of users come back often). */
const USERS = 200_000;
const FIRST_USER = 1_000_000;
const CART_MAX = 4;

// Session states: what the visitor did last.
const NEW = 0;
const SEARCHED = 1;
const VIEWED = 2;
const ADDED = 3;
const REMOVED = 4;
const CHECKOUT = 5;
const ENDED = 6;

/** Funnel knobs: ~10% of product views lead to an add, about a third of adds are bought. */
const ADD_RATE = 0.1;

/**
 * A pool of concurrent sessions. Each call to `next` picks a random active session and plays its
 * next step (so gaps between one visitor's events are geometric, like think time); a session
 * that ends is replaced by a new visitor.
 */
export class SessionSimulator {
  private readonly users: Int32Array;
  private readonly sessions: Int32Array;
  private readonly state: Uint8Array;
  private readonly product: Int32Array;
  private readonly category: Uint8Array;
  private readonly cart: Int32Array;
  private readonly cartQty: Uint8Array;
  private readonly cartLen: Uint8Array;

  constructor(
    private readonly rng: Rng,
    private readonly poolSize: number,
  ) {
    this.users = new Int32Array(poolSize);
    this.sessions = new Int32Array(poolSize * 2);
    this.state = new Uint8Array(poolSize).fill(ENDED);
    this.product = new Int32Array(poolSize).fill(-1);
    this.category = new Uint8Array(poolSize);
    this.cart = new Int32Array(poolSize * CART_MAX);
    this.cartQty = new Uint8Array(poolSize * CART_MAX);
    this.cartLen = new Uint8Array(poolSize);
  }

  next(out: SimEvent): void {
    const j = this.rng.int(this.poolSize);
    if (this.state[j] === ENDED) this.begin(j);
    out.product = -1;
    out.quantity = 0;
    out.query = -1;
    this.identify(j, out);
    this.step(j, out);
  }

  private identify(j: number, out: SimEvent): void {
    out.user = this.users[j];
    out.sessionHi = this.sessions[2 * j] >>> 0;
    out.sessionLo = this.sessions[2 * j + 1] >>> 0;
  }

  private begin(j: number): void {
    const rng = this.rng;
    this.users[j] = FIRST_USER + Math.floor(USERS * rng.float() ** 2.5);
    this.sessions[2 * j] = rng.u32();
    this.sessions[2 * j + 1] = rng.u32();
    this.state[j] = NEW;
    this.product[j] = -1;
    this.cartLen[j] = 0;
  }

  /** Ends session j and plays the first step of the visitor who takes its place. */
  private restart(j: number, out: SimEvent): void {
    this.begin(j);
    this.identify(j, out);
    this.step(j, out);
  }

  private step(j: number, out: SimEvent): void {
    const rng = this.rng;
    const r = rng.float();
    switch (this.state[j]) {
      case NEW:
        return r < 0.7 ? this.view(j, CATALOG.sample(rng), out) : this.search(j, CATALOG.sampleCategory(rng), out);
      case SEARCHED:
        if (r < 0.8) return this.view(j, CATALOG.sampleIn(this.category[j], rng), out);
        if (r < 0.9) return this.search(j, rng.chance(0.6) ? this.category[j] : CATALOG.sampleCategory(rng), out);
        return this.restart(j, out);
      case VIEWED:
        if (this.product[j] >= 0 && this.cartLen[j] < CART_MAX && r < ADD_RATE) return this.add(j, out);
        if (this.cartLen[j] > 0 && r < ADD_RATE + 0.05) return this.checkout(j, out);
        return this.browse(j, out);
      case ADDED:
        if (r < 0.2) return this.checkout(j, out);
        if (r < 0.28) return this.remove(j, out);
        return this.browse(j, out);
      case REMOVED:
        if (this.cartLen[j] > 0 && r < 0.15) return this.checkout(j, out);
        return this.browse(j, out);
      case CHECKOUT:
        return this.purchaseNext(j, out);
      default:
        return this.restart(j, out);
    }
  }

  /** Keep looking around: another product (often of the same category), a search, or leave. */
  private browse(j: number, out: SimEvent): void {
    const rng = this.rng;
    const r = rng.float();
    const last = this.product[j];
    if (r < 0.74) {
      const p = last >= 0 && rng.chance(0.35) ? CATALOG.sampleIn(CATALOG.category[last], rng) : CATALOG.sample(rng);
      return this.view(j, p, out);
    }
    if (r < 0.87) return this.search(j, last >= 0 && rng.chance(0.4) ? CATALOG.category[last] : CATALOG.sampleCategory(rng), out);
    return this.restart(j, out);
  }

  private view(j: number, p: number, out: SimEvent): void {
    this.state[j] = VIEWED;
    this.product[j] = p;
    out.type = PAGE_VIEW;
    out.product = p;
  }

  private search(j: number, c: number, out: SimEvent): void {
    this.state[j] = SEARCHED;
    this.category[j] = c;
    out.type = SEARCH;
    // Skewed towards the first (most common) terms.
    out.query = TERM_START[c] + Math.floor(SEARCH_TERMS[c].length * this.rng.float() ** 1.8);
  }

  private add(j: number, out: SimEvent): void {
    const rng = this.rng;
    const u = rng.float();
    const qty = u < 0.78 ? 1 : u < 0.92 ? 2 : u < 0.97 ? 3 : 4 + rng.int(3);
    const slot = j * CART_MAX + this.cartLen[j]++;
    this.cart[slot] = this.product[j];
    this.cartQty[slot] = qty;
    this.state[j] = ADDED;
    out.type = ADD_TO_CART;
    out.product = this.product[j];
    out.quantity = qty;
  }

  private remove(j: number, out: SimEvent): void {
    const base = j * CART_MAX;
    const n = this.cartLen[j];
    const i = this.rng.int(n);
    out.type = REMOVE_FROM_CART;
    out.product = this.cart[base + i];
    out.quantity = this.cartQty[base + i];
    this.cart[base + i] = this.cart[base + n - 1];
    this.cartQty[base + i] = this.cartQty[base + n - 1];
    this.cartLen[j] = n - 1;
    this.product[j] = -1;
    this.state[j] = REMOVED;
  }

  private checkout(j: number, out: SimEvent): void {
    this.state[j] = CHECKOUT;
    this.purchaseNext(j, out);
  }

  /** One purchase event per cart line; the session ends after the last. */
  private purchaseNext(j: number, out: SimEvent): void {
    const n = --this.cartLen[j];
    const slot = j * CART_MAX + n;
    out.type = PURCHASE;
    out.product = this.cart[slot];
    out.quantity = this.cartQty[slot];
    if (n === 0) this.state[j] = ENDED;
  }
}
