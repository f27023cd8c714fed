// Jobs in an order kept as they come (by submission, by end), so that listing the newest and
// retention's oldest-first walk never sort every stored job. Pure: no I/O, no clock.
//
// Items arrive almost always in order (their key is a timestamp taken as they come), so an
// insert is an append; one out of order is placed by binary search. A removal only marks the
// item; marked items at the oldest end are dropped as a walk passes them, the rest when they
// make up half the list (amortised linear, never a sort).

export class SortedList<T> {
  private items: T[] = [];
  /** Index of the first item not dropped yet (items before it are gone). */
  private head = 0;
  private readonly removed = new Set<T>();

  constructor(private readonly keyOf: (item: T) => number) {}

  /** A list of `items` (any order), sorted once; ties keep the order given. */
  static from<T>(items: readonly T[], keyOf: (item: T) => number): SortedList<T> {
    const l = new SortedList(keyOf);
    l.items = items.map((item, i) => ({ item, i })).sort((a, b) => keyOf(a.item) - keyOf(b.item) || a.i - b.i).map((x) => x.item);
    return l;
  }

  /** Items held, removed ones not counted. */
  get size(): number {
    return this.items.length - this.head - this.removed.size;
  }

  /** Adds `item` after every item whose key is not greater (appending is the common case). */
  insert(item: T): void {
    const k = this.keyOf(item);
    let lo = this.head;
    let hi = this.items.length;
    if (hi === lo || this.keyOf(this.items[hi - 1]!) <= k) {
      this.items.push(item);
      return;
    }
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keyOf(this.items[mid]!) <= k) lo = mid + 1;
      else hi = mid;
    }
    this.items.splice(lo, 0, item);
  }

  /** Marks `item` removed (it must have been inserted and not removed yet). */
  remove(item: T): void {
    this.removed.add(item);
    this.dropHead();
    if (this.removed.size > 1024 && this.removed.size * 2 > this.items.length - this.head) this.compact();
  }

  /** Oldest (smallest key) first. Do not insert or remove while walking: copy what you need. */
  *ascending(): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i]!;
      if (!this.removed.has(item)) yield item;
    }
  }

  /** Newest (greatest key) first; same rule as `ascending`. */
  *descending(): IterableIterator<T> {
    for (let i = this.items.length - 1; i >= this.head; i--) {
      const item = this.items[i]!;
      if (!this.removed.has(item)) yield item;
    }
  }

  /** The newest `limit` items, newest first, and whether older ones exist. */
  newest(limit: number): { items: T[]; more: boolean } {
    const items: T[] = [];
    for (const item of this.descending()) {
      if (items.length === limit) return { items, more: true };
      items.push(item);
    }
    return { items, more: false };
  }

  private dropHead(): void {
    while (this.head < this.items.length && this.removed.delete(this.items[this.head]!)) this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  private compact(): void {
    this.items = this.items.slice(this.head).filter((item) => !this.removed.has(item));
    this.head = 0;
    this.removed.clear();
  }
}

/**
 * The most recently used entries up to a count and a total weight (bytes): the ended job
 * records read lately, so a client polling one does not read the store each time.
 */
export class RecentCache<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private weight = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxWeight: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    // Map keeps insertion order: moved to the end, it is the last to go
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  set(key: K, value: V, weight: number): void {
    this.delete(key);
    if (weight > this.maxWeight) return;
    this.entries.set(key, { value, weight });
    this.weight += weight;
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.weight <= this.maxWeight) break;
      this.entries.delete(k);
      this.weight -= e.weight;
    }
  }

  delete(key: K): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.weight -= e.weight;
  }
}
