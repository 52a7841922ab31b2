/** The call database holds transcripts: its directory is the owner's only, and the file, WAL and SHM are 0600. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/records/sqlite-store.js';
import type { CallSummary } from '../../src/records/summary-types.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'records-modes-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const mode = (file: string): string => (fs.statSync(file).mode & 0o777).toString(8);

function summary(callSid: string): CallSummary {
  return {
    version: 1, callSid, streamSid: null, accountSid: null, direction: '', from: '', to: '', customParameters: {}, agent: null, instance: null,
    status: 'ended', startedAt: new Date().toISOString(), answeredAt: null, endedAt: null, durationMs: null, endReason: null,
    answeredBy: null, conversation: [], turns: [], bargeIns: [], transfers: [], errors: [], eventLog: { entries: 0, truncated: false },
  };
}

describe('call database file modes', () => {
  it('creates the directory 0700 and the database, its WAL and SHM 0600, whatever the umask', () => {
    const before = process.umask(0o022); // the usual umask, which gave 0644 files
    try {
      const file = path.join(dir, 'fresh', 'calls.db');
      const store = openSqliteStore(file);
      store.writeCall({ summary: summary('CA1'), eventsJson: '[{"t":0,"state":"connecting"}]', eventCount: 1 });
      expect(mode(path.dirname(file))).toBe('700');
      for (const f of [file, `${file}-wal`, `${file}-shm`]) {
        expect(fs.existsSync(f), f).toBe(true);
        expect(mode(f), f).toBe('600');
      }
      store.close();
    } finally {
      process.umask(before);
    }
  });

  it('tightens a database (and WAL, SHM) an older run left readable by others', () => {
    const file = path.join(dir, 'old', 'calls.db');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const first = openSqliteStore(file);
    first.writeCall({ summary: summary('CA1'), eventsJson: '', eventCount: 0 });
    for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.chmodSync(f, 0o644);
    // A second store opened while the first holds the WAL open: the files stay, and are tightened.
    const second = openSqliteStore(file);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(mode(f), f).toBe('600');
    second.close();
    first.close();
  });

  it('keeps a database made read-only on purpose read-only (only group and others lose their bits)', () => {
    const file = path.join(dir, 'readonly', 'calls.db');
    openSqliteStore(file).close();
    fs.chmodSync(file, 0o444);
    const store = openSqliteStore(file);
    expect(mode(file)).toBe('400');
    store.close();
  });
});
