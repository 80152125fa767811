/**
 * What shoppers type, per category (same order as CATEGORY_NAMES). Earlier terms are searched
 * more often. A few carry accents, so readers must handle multi-byte UTF-8.
 */
export const SEARCH_TERMS: readonly (readonly string[])[] = [
  // electronics
  ['wireless earbuds', 'usb c cable', 'laptop stand', 'phone case', '4k monitor', 'bluetooth speaker',
    'mechanical keyboard', 'gaming mouse', 'power bank', 'noise cancelling headphones', 'hdmi cable',
    'smart watch', 'webcam 1080p', 'portable ssd 1tb', 'wifi router', 'tablet 10 inch'],
  // clothing
  ['winter jacket', 'running shoes', 'jeans men', 'summer dress', 'hoodie', 'wool socks', 'rain coat',
    'white sneakers', 'yoga pants', 'linen shirt', 'leather belt', 'swim shorts', 'beanie'],
  // home & garden
  ['led bulbs', 'desk lamp', 'throw pillow', 'garden hose', 'bath towels', 'shower curtain',
    'plant pot', 'bed sheets queen', 'wall clock', 'storage bins', 'doormat', 'café curtains'],
  // books
  ['science fiction', 'cookbook', 'mystery novel', 'children books', 'self help', 'fantasy series',
    'history of rome', 'python programming', 'graphic novel', 'biography', 'poetry'],
  // beauty
  ['lipstick', 'face moisturizer', 'sunscreen spf 50', 'shampoo', 'perfume', 'nail polish',
    'hair dryer', 'eye cream', 'makeup brushes', 'crème hydratante'],
  // sports & outdoors
  ['yoga mat', 'camping tent', 'water bottle', 'dumbbells', 'bike helmet', 'hiking boots',
    'sleeping bag', 'resistance bands', 'tennis racket', 'fishing rod'],
  // toys & games
  ['lego', 'board games', 'puzzle 1000 pieces', 'rc car', 'plush toy', 'card game', 'dollhouse',
    'building blocks', 'kids scooter'],
  // grocery
  ['coffee beans', 'dark chocolate', 'green tea', 'olive oil', 'pasta', 'protein bar', 'kitchen towels',
    'peanut butter', 'oat milk', 'honey', 'crème brûlée'],
  // health
  ['vitamin d', 'face masks', 'first aid kit', 'thermometer', 'multivitamin', 'hand sanitizer',
    'electric toothbrush', 'blood pressure monitor', 'melatonin'],
  // automotive
  ['tire inflator', 'car phone holder', 'dash cam', 'car vacuum', 'jump starter', 'floor mats',
    'windshield wipers', 'motor oil'],
  // pet supplies
  ['dog food', 'cat litter', 'dog leash', 'cat tree', 'pet bed', 'chew toys', 'fish tank', 'bird seed'],
  // office supplies
  ['desk organizer', 'printer paper', 'gel pens', 'sticky notes', 'office chair', 'notebook a5',
    'stapler', 'whiteboard'],
];

/** All terms in one list; a search event carries an index into it. */
export const TERMS: readonly string[] = SEARCH_TERMS.flat();
/** Index in TERMS of each category's first term. */
export const TERM_START: readonly number[] = SEARCH_TERMS.map((_, c) => SEARCH_TERMS.slice(0, c).reduce((n, t) => n + t.length, 0));
