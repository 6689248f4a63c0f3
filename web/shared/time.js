// A session's start time in the office's zone, Asia/Jakarta (WIB, UTC+7 all year), whatever
// the browser's own zone: shown on the phone page, the console and /admin, edited in the last two.

const WIB_MS = 7 * 3600 * 1000;
/** "Jumat, 18 Desember 2026 19.00 WIB" (English: "Friday, 18 December 2026 19:00 WIB") from an
 *  RFC 3339 time, in Jakarta time whatever this computer's zone; '' when not set or not valid. */
export function startText(iso, lang, short = false) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return '';
  const locale = lang === 'en' ? 'en-GB' : 'id-ID';
  const tz = { timeZone: 'Asia/Jakarta' };
  const len = short ? 'short' : 'long';
  const day = d.toLocaleDateString(locale, { ...tz, weekday: short ? undefined : 'long', day: 'numeric', month: len, year: 'numeric' });
  const parts = new Intl.DateTimeFormat(locale, { ...tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(d);
  const hh = (parts.find((x) => x.type === 'hour') || {}).value || '';
  const mm = (parts.find((x) => x.type === 'minute') || {}).value || '';
  const date = short ? day : day.replace(/^(\S+?),?\s/, '$1, ');
  return `${date} ${hh}${lang === 'en' ? ':' : '.'}${mm} WIB`;
}
/** The value of a datetime-local field (Jakarta time) for an RFC 3339 time; '' when not set. */
export function startInput(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() + WIB_MS).toISOString().slice(0, 16);
}
/** RFC 3339 with the Jakarta offset from a datetime-local value ("2026-12-18T19:00"); '' for ''. */
export function startValue(local) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::(\d{2}))?/.exec(String(local || ''));
  return m ? `${m[1]}T${m[2]}:${m[3] || '00'}+07:00` : '';
}
