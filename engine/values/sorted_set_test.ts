/** SortedSetValue's order, ranks and neighbours against a sorted array, over many blocks. */
import { assertEquals } from "../../tests/_assert.ts";
import { SortedSetValue } from "./sorted_set.ts";

/** A small seeded generator, so a failure repeats. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

Deno.test("sorted set: order and ranks match a sorted array through inserts, rescores and removals", () => {
  const random = rng(7);
  const z = new SortedSetValue();
  z.skiplist = true;
  const ref = new Map<string, number>();
  // Few distinct scores, so long runs of equal scores ordered by member cross block bounds.
  const score = () => random() < 0.5 ? Math.floor(random() * 5) : Math.floor(random() * 10000);
  for (let step = 0; step < 30000; step++) {
    const member = `m${Math.floor(random() * 3000)}`;
    const r = random();
    if (r < 0.6) {
      const s = score();
      z.set(member, s);
      ref.set(member, s);
    } else if (r < 0.8) {
      assertEquals(z.remove(member), ref.delete(member));
    } else {
      const n = z.node(member);
      if (n !== undefined) {
        const s = score();
        z.rescore(n, s);
        ref.set(member, s);
      }
    }
    if (step % 5000 !== 4999) continue;
    const sorted = [...ref].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    assertEquals(z.size, sorted.length);
    assertEquals(z.range(0, z.size).map((n) => [n.member, n.score]), sorted);
    for (let i = 0; i < sorted.length; i += 7) {
      const m = sorted[i][0];
      assertEquals(z.rank(m), i, m);
      assertEquals(z.rank(m, true), sorted.length - 1 - i, m);
      assertEquals(z.byRank(i).member, m);
      const n = z.node(m)!;
      assertEquals(z.neighbour(n, 1)?.member ?? null, sorted[i + 1]?.[0] ?? null);
      assertEquals(z.neighbour(n, -1)?.member ?? null, sorted[i - 1]?.[0] ?? null);
    }
  }
});
