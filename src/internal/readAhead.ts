/**
 * Reading ahead: a short loop that reads one field of each of many objects before the loop that
 * uses them. Such objects (a batch's stored cells, its ledger entries) are seldom in the CPU's
 * caches, and independent reads in a short loop wait for memory together rather than one at a
 * time. {@link keep} takes what the loop read, so that the compiler cannot drop the reads as unused.
 *
 * Machinery of the planner and the in-memory store.
 */

const sink = { sum: 0 }

/** Keeps what a read-ahead loop read (a sum of the fields it touched). */
export const keep = (sum: number): void => {
  sink.sum = sum
}
