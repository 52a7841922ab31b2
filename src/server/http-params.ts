/** Small readers of what an HTTP request carries (Twilio's form parameters, the query string, a header). */
export function formParams(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(body)) return out;
  for (const [k, v] of Object.entries(body)) if (typeof v === 'string') out[k] = v;
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `?a=b…` of a request URL, or '' (what Twilio signed is the URL with it). */
export function queryOf(originalUrl: string): string {
  const at = originalUrl.indexOf('?');
  return at < 0 ? '' : originalUrl.slice(at);
}

export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
