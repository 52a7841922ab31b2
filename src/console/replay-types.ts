/** What `POST /console/api/calls/:callSid/replay` answers. Shared by the server and the page (type-only, no imports). */

/** 202: the replay runs in the server's Stately inspector. */
export interface ReplayStarted {
  inspectorUrl: string;
  /** Recorded events the replay feeds. */
  events: number;
  /** How long it runs at the requested speed. */
  durationMs: number;
}

/** 4xx/5xx. A 409 with `command`: the server runs no inspector; the command replays the call where the database is. */
export interface ReplayRefused {
  error: string;
  command?: string;
}
