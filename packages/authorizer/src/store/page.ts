/** Largest page `listTransactions` serves. */
export const MAX_PAGE = 1_000;

/** Rejects a page request that no caller should make (a bug, not a runtime condition). */
export function checkPage(page: { limit: number; before?: number }): void {
  if (!Number.isSafeInteger(page.limit) || page.limit < 1 || page.limit > MAX_PAGE) {
    throw new RangeError(`page limit must be an integer in 1..${MAX_PAGE}, got ${page.limit}`);
  }
  if (page.before !== undefined && !Number.isSafeInteger(page.before)) {
    throw new RangeError(`page cursor must be an integer, got ${page.before}`);
  }
}
