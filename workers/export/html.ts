/**
 * HTML built from templates that escape every interpolated value unless it is already HTML (an `Html`
 * made by the same tag), so a value read from the data can never become markup.
 */

export class Html {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for element content and quoted attribute values. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);

type Part = Html | string | number | null | undefined | false | readonly Part[];

function render(v: Part): string {
  if (v instanceof Html) return v.html;
  if (Array.isArray(v)) return (v as readonly Part[]).map(render).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeHtml(String(v));
}

/** The template tag: `html\`<td>${value}</td>\``. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}
