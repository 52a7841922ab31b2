import { useEffect, useState } from 'preact/hooks';
import type { CallListItem } from '../../src/records/summary-types.ts';
import { getJson } from './api.ts';
import { duration, when } from './format.ts';

interface Page {
  calls: CallListItem[];
  next: string | null;
}

const PAGE = 25;

export function PastCalls({ onError }: { onError: (err: unknown) => void }) {
  const [search, setSearch] = useState('');
  const [calls, setCalls] = useState<CallListItem[] | null>(null);
  const [next, setNext] = useState<string | null>(null);

  const load = async (before: string | null, query: string): Promise<Page> => {
    // Ended calls only: a call still running is on the Live calls page, not in the history.
    const params = new URLSearchParams({ limit: String(PAGE), status: 'ended' });
    if (query.trim() !== '') params.set('search', query.trim());
    if (before !== null) params.set('before', before);
    return getJson<Page>(`/calls?${params.toString()}`);
  };

  useEffect(() => {
    // Debounced: one request once typing pauses.
    const timer = setTimeout(() => {
      load(null, search).then((page) => {
        setCalls(page.calls);
        setNext(page.next);
      }, onError);
    }, 200);
    return () => clearTimeout(timer);
  }, [search]);

  const more = () =>
    load(next, search).then((page) => {
      setCalls((current) => [...(current ?? []), ...page.calls]);
      setNext(page.next);
    }, onError);

  return (
    <section class="calls">
      <h2>Past calls</h2>
      <input
        type="search"
        name="search"
        class="search"
        placeholder="Search a number, a callSid or words said…"
        value={search}
        onInput={(e) => setSearch(e.currentTarget.value)}
      />
      {calls === null ? (
        <p class="muted">Loading…</p>
      ) : calls.length === 0 ? (
        <p class="muted empty">{search === '' ? 'No call recorded yet.' : 'No call matches.'}</p>
      ) : (
        <table class="call-list">
          <thead>
            <tr>
              <th>Started</th>
              <th>From → to</th>
              <th>Agent</th>
              <th>Duration</th>
              <th>Turns</th>
              <th>Barge-ins</th>
              <th>Ended</th>
            </tr>
          </thead>
          <tbody>
            {calls.map((c) => (
              <tr key={c.callSid} data-call-sid={c.callSid} class={c.status}>
                <td>
                  <a href={`#/calls/${c.callSid}`}>{when(c.startedAt)}</a>
                </td>
                <td>
                  {c.from || '—'} → {c.to || '—'}
                </td>
                <td>{c.agent ?? '—'}</td>
                <td>{c.status === 'in-progress' ? 'in progress' : duration(c.durationMs)}</td>
                <td>{c.turns}</td>
                <td>{c.bargeIns}</td>
                <td>{c.endReason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next !== null && <button onClick={more}>More</button>}
    </section>
  );
}
