/**
 * The identifiers a client chooses (customer, SKU, poll, voter, vote option): ASCII letters, digits, `.`, `_`, `-`,
 * starting with a letter or digit, at most SAFE_ID_MAX_LENGTH characters. The orders API refuses anything else with
 * a 400 naming the field, and the consumers that turn such a name into a key (the vote aggregator's options) check
 * the same rule, so both agree on what is valid whoever wrote the table.
 *
 * ASCII-only shuts out look-alike and invisible Unicode characters; the first-character rule rules out `.` and `..`
 * (path steps after URL normalisation) and `__proto__`, the one name JavaScript treats specially on assignment.
 * Names like `constructor` or `toString` are valid: code keeps them in Maps, never as plain object keys.
 */
export const SAFE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const SAFE_ID_MAX_LENGTH = 128;

/** Whether `value` is a valid client-chosen identifier (see SAFE_ID_PATTERN). */
export function isSafeId(value: string): boolean {
  return value.length <= SAFE_ID_MAX_LENGTH && SAFE_ID_PATTERN.test(value);
}
