/** Where the built console page is: `dist/console`, whether the server runs from source or compiled into dist/. */
import path from 'node:path';

export function consoleAssetsDir(): string {
  const root = path.resolve(import.meta.dirname, '../..'); // src/console → <root>; dist/src/console → dist
  return path.basename(root) === 'dist' ? path.join(root, 'console') : path.join(root, 'dist', 'console');
}
