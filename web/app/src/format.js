// Numbers and times as people read them.
const whole = new Intl.NumberFormat('en');
export const count = (n) => (n == null ? '–' : whole.format(n));
export const percent = (x) => (x == null ? '–' : `${(100 * x).toFixed(1)} %`);
export const day = (iso) => (iso ? iso.slice(0, 10) : '–');
export const time = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : '–');
export function signed(n) {
  if (n == null) return '–';
  return n > 0 ? `+${whole.format(n)}` : whole.format(n);
}
