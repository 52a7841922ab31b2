/** Bearer-token check for the calls API, in constant time (a timing difference must not reveal the token). */
import { createHash, timingSafeEqual } from 'node:crypto';

export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1] ?? '';
  // Hashing first gives equal lengths, so neither the content nor the length of the token leaks.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b) && given !== '';
}
