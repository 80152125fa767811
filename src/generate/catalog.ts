import { Rng } from './prng.js';

/**
 * The shop: about 2,000 products in a dozen categories, each with a stable price, and a
 * Zipf-shaped popularity (a few products get most of the views). The catalog is the same for
 * every seed, like a real shop's; the seed only changes the traffic.
 */

interface CategorySpec {
  readonly name: string;
  /** Relative number of products. */
  readonly weight: number;
  readonly minPrice: number;
  readonly maxPrice: number;
}

const CATEGORIES: readonly CategorySpec[] = [
  { name: 'electronics', weight: 14, minPrice: 9.99, maxPrice: 1499 },
  { name: 'clothing', weight: 13, minPrice: 7.99, maxPrice: 249 },
  { name: 'home & garden', weight: 11, minPrice: 4.99, maxPrice: 599 },
  { name: 'books', weight: 10, minPrice: 4.99, maxPrice: 89 },
  { name: 'beauty', weight: 8, minPrice: 3.99, maxPrice: 129 },
  { name: 'sports & outdoors', weight: 8, minPrice: 6.99, maxPrice: 799 },
  { name: 'toys & games', weight: 7, minPrice: 4.99, maxPrice: 199 },
  { name: 'grocery', weight: 9, minPrice: 1.49, maxPrice: 59 },
  { name: 'health', weight: 6, minPrice: 2.99, maxPrice: 149 },
  { name: 'automotive', weight: 5, minPrice: 5.99, maxPrice: 449 },
  { name: 'pet supplies', weight: 5, minPrice: 2.99, maxPrice: 179 },
  { name: 'office supplies', weight: 4, minPrice: 1.99, maxPrice: 399 },
];

export const CATEGORY_NAMES: readonly string[] = CATEGORIES.map((c) => c.name);
export const PRODUCT_COUNT = 2000;
const ZIPF_EXPONENT = 1.05;
const CENTS = [99, 99, 99, 49, 95, 0, 50, 25, 75];

export interface Catalog {
  /** `P00001` .. `P02000`. */
  readonly ids: readonly string[];
  readonly category: Uint8Array;
  /** Unit price as written in JSON, always two decimals: `47.95`. */
  readonly priceText: readonly string[];
  readonly priceCents: Int32Array;
  /** `"product_id":"P00042","category":"books","price":12.99`, ready to splice into a line. */
  readonly fragment: readonly string[];
  /** Picks a product by global popularity. */
  sample(rng: Rng): number;
  /** Picks a product of one category by popularity within it. */
  sampleIn(category: number, rng: Rng): number;
  /** Picks a category weighted by its products' popularity (what people search for). */
  sampleCategory(rng: Rng): number;
}

function cumulative(weights: ArrayLike<number>): Float64Array {
  const cdf = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) cdf[i] = sum += weights[i];
  for (let i = 0; i < cdf.length; i++) cdf[i] /= sum;
  return cdf;
}

/** Index of the first cdf entry above u. */
function search(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function buildCatalog(): Catalog {
  const rng = new Rng('strata-catalog-v1');
  const totalWeight = CATEGORIES.reduce((s, c) => s + c.weight, 0);
  const categoryCdf = cumulative(CATEGORIES.map((c) => c.weight / totalWeight));
  const ids: string[] = [];
  const category = new Uint8Array(PRODUCT_COUNT);
  const priceText: string[] = [];
  const priceCents = new Int32Array(PRODUCT_COUNT);
  const fragment: string[] = [];
  for (let p = 0; p < PRODUCT_COUNT; p++) {
    const c = search(categoryCdf, rng.float());
    const spec = CATEGORIES[c];
    // Log-uniform between the category's bounds, skewed to cheap items, with shop-like cents.
    const u = rng.float() ** 1.6;
    const raw = spec.minPrice * (spec.maxPrice / spec.minPrice) ** u;
    const cents = Math.max(1, Math.floor(raw) * 100 + rng.pick(CENTS));
    const id = `P${String(p + 1).padStart(5, '0')}`;
    const price = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
    ids.push(id);
    category[p] = c;
    priceText.push(price);
    priceCents[p] = cents;
    fragment.push(`"product_id":"${id}","category":"${spec.name}","price":${price}`);
  }
  // Popularity rank is a shuffle of the ids, so P00001 is not automatically the best seller.
  const rankOf = rng.shuffle(Array.from({ length: PRODUCT_COUNT }, (_, i) => i));
  const weight = new Float64Array(PRODUCT_COUNT);
  for (let p = 0; p < PRODUCT_COUNT; p++) weight[p] = 1 / (rankOf[p] + 1) ** ZIPF_EXPONENT;
  const globalCdf = cumulative(weight);
  const members: number[][] = CATEGORIES.map(() => []);
  for (let p = 0; p < PRODUCT_COUNT; p++) members[category[p]].push(p);
  const memberCdfs = members.map((list) => cumulative(list.map((p) => weight[p])));
  const popularity = cumulative(members.map((list) => list.reduce((s, p) => s + weight[p], 0)));
  return {
    ids,
    category,
    priceText,
    priceCents,
    fragment,
    sample: (r) => search(globalCdf, r.float()),
    sampleIn: (c, r) => members[c][search(memberCdfs[c], r.float())],
    sampleCategory: (r) => search(popularity, r.float()),
  };
}

export const CATALOG: Catalog = buildCatalog();
