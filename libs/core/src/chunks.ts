/**
 * Runs `deleteChunk(limit)` until it deletes fewer than `limit` rows; returns the total. Large deletions go a chunk at a
 * time, so no statement holds locks for long.
 */
export async function deleteInChunks(deleteChunk: (limit: number) => Promise<number>, limit = 5_000): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await deleteChunk(limit);
    total += deleted;
    if (deleted < limit) return total;
  }
}
