/** What `GET /console/api/session` answers. Shared by the server and the page (type-only, no imports). */
export interface ConsoleSessionInfo {
  expiresAt: number;
  /** The server runs a Stately inspector (INSPECT=1): "Replay in the inspector" can work only then. */
  inspector: boolean;
}
