/**
 * Formatting helpers: numbers, times and repo names as the operator reads them.
 *
 * Pure functions (no DOM), so the browser tests import this module directly.
 * Times arrive from the API as UTC RFC 3339 strings and are shown in the
 * browser's local time zone; numbers use the browser's locale.
 */

const numberFormat = new Intl.NumberFormat();
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "medium",
});
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

const RELATIVE_STEPS = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

/** A count with thousands separators; "—" when the API has no number. */
export function formatNumber(value) {
  return Number.isFinite(value) ? numberFormat.format(value) : "—";
}

const pluralRules = new Intl.PluralRules("en");

/** "1 page", "2,000 pages": a formatted count with the noun in the right number. */
export function formatCount(value, one, many = `${one}s`) {
  return `${formatNumber(value)} ${pluralRules.select(value) === "one" ? one : many}`;
}

/** Parse an RFC 3339 timestamp; null for missing or unreadable values. */
export function parseTime(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** The exact local date and time, e.g. for a `title` tooltip. */
export function formatLocalTime(iso) {
  const ms = parseTime(iso);
  return ms === null ? "—" : dateTimeFormat.format(ms);
}

/** "now", "in 20 seconds", "5 minutes ago", "in 2 hours"; `empty` when there is no time. */
export function formatRelative(iso, now = Date.now(), empty = "never") {
  const ms = parseTime(iso);
  if (ms === null) return empty;
  const seconds = Math.round((ms - now) / 1000);
  if (Math.abs(seconds) < 10) return relativeFormat.format(0, "second");
  for (const [unit, size] of RELATIVE_STEPS) {
    if (Math.abs(seconds) >= size) return relativeFormat.format(Math.round(seconds / size), unit);
  }
  return relativeFormat.format(seconds, "second");
}

/** A byte count as B, KB, MB or GB (powers of 1024). */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const NAME = /^[A-Za-z0-9._-]{1,100}$/;
const URL_PREFIX = /^(?:https?:\/\/)?(?:www\.)?github\.com\//i;

/**
 * Check a repo name as the operator types it, by GitHub's rules (the server
 * checks again and has the last word). Returns `{ok, value}` or `{ok, message}`.
 */
export function checkRepoName(text) {
  const raw = String(text).trim().replace(URL_PREFIX, "").replace(/\/+$/, "").replace(/\.git$/, "");
  if (!raw) return { ok: false, message: "Enter a repository as owner/name." };
  const parts = raw.split("/");
  if (parts.length !== 2) return { ok: false, message: "Use the form owner/name." };
  const [owner, name] = parts;
  if (!OWNER.test(owner)) {
    return { ok: false, message: "The owner may use letters, digits and single inner hyphens." };
  }
  if (!NAME.test(name) || name === "." || name === "..") {
    return { ok: false, message: "The name may use letters, digits, '.', '-' and '_'." };
  }
  return { ok: true, value: `${owner}/${name}` };
}
