// The coordinator's ordered structures, without processes: jobs kept in submission and end
// order as they come (no sort per listing or retention pass), and the cache of recently read
// finished records, bounded by count and bytes.
import { describe, expect, it } from 'vitest';
import { RecentCache, SortedList } from '../coordinator/job-order.js';
import { jobsToRemove } from '../coordinator/retention.js';
import { rng } from './harness/rng.js';

interface Item {
  id: string;
  at: number;
}
const item = (id: string, at: number): Item => ({ id, at });
const ids = (items: Iterable<Item>): string[] => [...items].map((i) => i.id);

describe('SortedList', () => {
  it('keeps items in key order, ties in the order they came, whether appended or placed', () => {
    const l = new SortedList<Item>((i) => i.at);
    for (const i of [item('a', 1), item('b', 2), item('c', 2), item('d', 5), item('late', 3), item('first', 0), item('tie', 2)]) l.insert(i);
    expect(ids(l.ascending())).toEqual(['first', 'a', 'b', 'c', 'tie', 'late', 'd']);
    expect(ids(l.descending())).toEqual(['d', 'late', 'tie', 'c', 'b', 'a', 'first']);
    expect(l.size).toBe(7);
  });

  it('sorts once when built from items in any order, ties in the order given', () => {
    const l = SortedList.from([item('c', 3), item('a', 1), item('b1', 2), item('b2', 2)], (i) => i.at);
    expect(ids(l.ascending())).toEqual(['a', 'b1', 'b2', 'c']);
  });

  it('lists the newest with a limit and says whether older ones exist', () => {
    const l = SortedList.from(
      Array.from({ length: 5 }, (_, i) => item(`j${i}`, i)),
      (i) => i.at,
    );
    expect(l.newest(2)).toEqual({ items: [item('j4', 4), item('j3', 3)], more: true });
    expect(l.newest(5).more).toBe(false);
    expect(l.newest(9).items).toHaveLength(5);
  });

  it('a removed item is gone from every walk and from the count', () => {
    const all = Array.from({ length: 6 }, (_, i) => item(`j${i}`, i));
    const l = SortedList.from(all, (i) => i.at);
    l.remove(all[0]!);
    l.remove(all[3]!);
    expect(ids(l.ascending())).toEqual(['j1', 'j2', 'j4', 'j5']);
    expect(l.newest(3)).toEqual({ items: [all[5], all[4], all[2]], more: true });
    expect(l.size).toBe(4);
    for (const i of [all[1]!, all[2]!, all[4]!, all[5]!]) l.remove(i);
    expect(l.size).toBe(0);
    expect(ids(l.ascending())).toEqual([]);
    l.insert(item('again', 1));
    expect(ids(l.descending())).toEqual(['again']);
  });

  it('agrees with a sorted array over many random inserts and removals (compaction included)', () => {
    const seed = 1234;
    const r = rng(seed);
    const l = new SortedList<Item>((i) => i.at);
    let model: Item[] = [];
    let clock = 0;
    for (let n = 0; n < 20_000; n++) {
      const x = r();
      if (x < 0.55 || model.length === 0) {
        // mostly in order (a timestamp taken as it comes), now and then a little late
        clock += Math.floor(r() * 3);
        const it = item(`i${n}`, r() < 0.9 ? clock : Math.max(0, clock - Math.floor(r() * 50)));
        l.insert(it);
        let pos = model.length;
        while (pos > 0 && model[pos - 1]!.at > it.at) pos--;
        model.splice(pos, 0, it);
      } else {
        // retention takes mostly the oldest; other removals anywhere
        const k = r() < 0.7 ? 0 : Math.floor(r() * model.length);
        l.remove(model[k]!);
        model = model.filter((_, i) => i !== k);
      }
      if (n % 997 === 0) expect(ids(l.ascending()), `seed ${seed} step ${n}`).toEqual(ids(model));
    }
    expect(l.size).toBe(model.length);
    expect(ids(l.ascending())).toEqual(ids(model));
    expect(ids(l.descending())).toEqual(ids([...model].reverse()));
  });
});

describe('jobsToRemove over the end order', () => {
  it('walks only as far as it removes: young jobs within the count are not visited', () => {
    const policy = { retainForMs: 1000, retainJobs: 10, retainEvents: 0 };
    const now = 1_000_000;
    const l = SortedList.from(
      Array.from({ length: 100_000 }, (_, i) => ({ id: `j${i}`, endedAt: now - 100_000 + i })),
      (j) => j.endedAt,
    );
    let visited = 0;
    const counted = (function* () {
      for (const j of l.ascending()) {
        visited++;
        yield j;
      }
    })();
    // the 99,990 oldest are over the count: at most 200 go per pass
    expect(jobsToRemove(counted, l.size, now, policy, () => false)).toHaveLength(200);
    expect(visited).toBe(200);
    visited = 0;
    const young = SortedList.from(
      Array.from({ length: 10 }, (_, i) => ({ id: `y${i}`, endedAt: now - i })),
      (j) => j.endedAt,
    );
    expect(jobsToRemove(young.ascending(), young.size, now, policy, () => false)).toEqual([]);
  });
});

describe('RecentCache', () => {
  it('keeps the most recently used up to a count', () => {
    const c = new RecentCache<string, number>(3, 1000);
    c.set('a', 1, 1);
    c.set('b', 2, 1);
    c.set('c', 3, 1);
    expect(c.get('a')).toBe(1); // used: now the newest
    c.set('d', 4, 1);
    expect([c.get('a'), c.get('b'), c.get('c'), c.get('d')]).toEqual([1, undefined, 3, 4]);
    expect(c.size).toBe(3);
  });

  it('keeps no more than its weight, and nothing heavier than all of it', () => {
    const c = new RecentCache<string, string>(100, 10);
    c.set('a', 'a', 4);
    c.set('b', 'b', 4);
    c.set('c', 'c', 4);
    expect([c.get('a'), c.get('b'), c.get('c')]).toEqual([undefined, 'b', 'c']);
    c.set('huge', 'x', 11);
    expect(c.get('huge')).toBeUndefined();
    expect(c.get('b')).toBe('b');
    c.set('b', 'b2', 2); // replacing counts the new weight only
    c.set('d', 'd', 4);
    expect([c.get('b'), c.get('c'), c.get('d')]).toEqual(['b2', 'c', 'd']);
    c.delete('c');
    expect(c.size).toBe(2);
  });
});
