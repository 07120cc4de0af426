/**
 * DynamoDB stream sequence numbers: decimal strings of 21 to 40 digits, too long for a JS number. Compared
 * numerically without parsing: the longer is the greater, at equal length the text decides.
 */
export function compareSequenceNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
