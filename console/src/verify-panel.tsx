/**
 * The detail panel's Verify: fetches the event's inclusion proof and the published signing key,
 * then checks in the browser (verify.ts) that the event as shown is the one sealed, that the
 * proof leads to the digest's signed root, and that the signature is valid under that key. The
 * outcome names the digest, its time and the key's fingerprint, or the step that failed, or when
 * to try again for an event not sealed yet. Everything is rendered as text.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { InclusionProof, PublicKey, StoredEvent } from '../../client/types.ts';
import {
  DEFAULT_SEALING,
  FAILURE_HEADLINES,
  type PendingResult,
  pendingResult,
  type SealingPace,
  type VerifyResult,
  verifyEvent,
} from './verify.ts';
import './verify-panel.css';

/**
 * What the panel needs from the API (the typed client's `integrity.proof` and
 * `integrity.publicKey`). A rejection carrying `status: 404` means "not sealed yet", `status: 409`
 * that the service itself finds the stored event no longer matches its seal; `detail` or
 * `message` is shown for anything else.
 */
export interface VerifyApi {
  /** `GET /v1/events/{id}/proof`. */
  proof(id: string): Promise<InclusionProof>;
  /** `GET /v1/integrity/public-key`. */
  publicKey(): Promise<PublicKey>;
}

export interface VerifyPanelProps {
  /** The event as the page shows it (`GET /v1/events` row or `GET /v1/events/{id}`). */
  readonly event: StoredEvent;
  readonly api: VerifyApi;
  /** The deployment's sealing pace, when it differs from the defaults. */
  readonly sealing?: SealingPace;
  /** The clock (tests). */
  readonly now?: () => number;
}

type State =
  | { readonly kind: 'idle' }
  | { readonly kind: 'running'; readonly status: string }
  | { readonly kind: 'done'; readonly result: VerifyResult }
  | { readonly kind: 'pending'; readonly result: PendingResult }
  | { readonly kind: 'conflict'; readonly detail: string }
  | { readonly kind: 'error'; readonly detail: string };

const statusOf = (error: unknown): number | undefined => {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
};

const textOf = (error: unknown): string => {
  const { detail, message } = (error ?? {}) as { detail?: unknown; message?: unknown };
  if (typeof detail === 'string' && detail !== '') return detail;
  if (typeof message === 'string' && message !== '') return message;
  return String(error);
};

const formatTime = (iso: string): string => {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
};

const Time = ({ iso }: { iso: string }) => <time dateTime={iso}>{formatTime(iso)}</time>;

/** The one-sentence outcome, announced in the live region. */
const Outcome = ({ state }: { state: State }) => {
  switch (state.kind) {
    case 'idle':
      return null;
    case 'running':
      return <span>{state.status}</span>;
    case 'done': {
      const { result } = state;
      if (result.status === 'verified')
        return (
          <span class="tk-verify-ok">
            Verified: this event is in digest {result.digest.sequence} sealed at{' '}
            <Time iso={result.digest.sealedAt} />, signed by key{' '}
            <code class="tk-verify-fingerprint">{result.fingerprint}</code>
          </span>
        );
      const failed = result.failedStep ?? 'event-hash';
      const step = result.steps.find((s) => s.step === failed);
      return (
        <span class="tk-verify-bad">
          Verification failed: {FAILURE_HEADLINES[failed].toLowerCase()}. {step?.message}
        </span>
      );
    }
    case 'pending':
      return (
        <span class="tk-verify-pending">
          Not sealed yet — events are sealed every {state.result.sealEveryMinutes} minutes; try again after{' '}
          <Time iso={state.result.retryAfter} />. {state.result.message}
        </span>
      );
    case 'conflict':
      return (
        <span class="tk-verify-bad">
          Verification failed: {FAILURE_HEADLINES['event-hash'].toLowerCase()}. The service reports:{' '}
          {state.detail}
        </span>
      );
    case 'error':
      return <span class="tk-verify-bad">Could not verify: {state.detail}</span>;
  }
};

export function VerifyPanel({ event, api, sealing = DEFAULT_SEALING, now = Date.now }: VerifyPanelProps) {
  const [state, setState] = useState<State>({ kind: 'idle' });
  // A run for an event the panel no longer shows must not write its outcome.
  const run = useRef(0);
  useEffect(() => {
    run.current++;
    setState({ kind: 'idle' });
  }, [event.id]);

  const verify = async () => {
    const mine = ++run.current;
    const update = (next: State) => {
      if (run.current === mine) setState(next);
    };
    update({ kind: 'running', status: 'Fetching the inclusion proof and the signing key…' });
    try {
      const [proof, publicKey] = await Promise.all([api.proof(event.id), api.publicKey()]);
      update({ kind: 'running', status: 'Checking the hash, the proof and the signature…' });
      update({ kind: 'done', result: await verifyEvent({ event, proof, publicKey }) });
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) update({ kind: 'pending', result: pendingResult(event, now(), sealing) });
      else if (status === 409) update({ kind: 'conflict', detail: textOf(error) });
      else update({ kind: 'error', detail: textOf(error) });
    }
  };

  const running = state.kind === 'running';
  return (
    <section class="tk-verify" aria-labelledby="tk-verify-title">
      <div class="tk-verify-head">
        <h3 id="tk-verify-title">Integrity</h3>
        <button type="button" onClick={verify} disabled={running} aria-describedby="tk-verify-what">
          {running ? 'Verifying…' : 'Verify'}
        </button>
      </div>
      <p id="tk-verify-what" class="tk-verify-hint">
        Checks in this browser that this event is unchanged since it was sealed into a signed digest.
      </p>
      <p class="tk-verify-outcome" role="status" aria-live="polite" data-state={state.kind}>
        <Outcome state={state} />
      </p>
      {state.kind === 'done' && (
        <ol class="tk-verify-steps" aria-label="Verification steps">
          {state.result.steps.map((step) => (
            <li key={step.step} class={step.ok ? 'tk-verify-ok' : 'tk-verify-bad'} data-step={step.step}>
              <span class="tk-verify-mark">{step.ok ? '✓ Passed' : '✗ Failed'}</span> {step.message}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
