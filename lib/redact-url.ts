/** URLs as errors and log lines may show them: never their userinfo, query or fragment. */

/**
 * A URL as an error may quote it: it loses its userinfo, query and fragment (credentials and signed tokens live
 * there), leaving `[redacted]` in their place. Parsed by hand: a value that failed validation may not parse as a URL
 * (no scheme, say), and must still not leak.
 */
export function withoutCredentials(value: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value)?.[0] ?? '';
  const rest = value.slice(scheme.length);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const at = authority.lastIndexOf('@');
  const host = at < 0 ? authority : `[redacted]@${authority.slice(at + 1)}`;
  const tail = authorityEnd < 0 ? '' : rest.slice(authorityEnd);
  const cut = tail.search(/[?#]/);
  const pathPart = cut < 0 ? tail : `${tail.slice(0, cut)}${tail[cut]}[redacted]`;
  return `${scheme}${host}${pathPart}`;
}

/** `text` (an error message) with every URL in it passed through `withoutCredentials`. */
export function redactUrls(text: string): string {
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (url) => withoutCredentials(url));
}
