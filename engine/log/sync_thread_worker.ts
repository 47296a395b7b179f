/**
 * The worker behind {@link SyncThread} (sync_thread.ts): fdatasyncs a segment file each time the
 * main thread asks, through shared memory only. It blocks in `Atomics.wait` between requests, so
 * it never receives messages after the first one, which hands it the shared buffers.
 *
 * @module
 */
import { CONTROL, SyncState, type SyncThreadBuffers } from "./sync_thread.ts";

/** The worker's scope, typed here: this module is also checked along with the main program. */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<SyncThreadBuffers>) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = (e) => {
  const control = new Int32Array(e.data.control);
  const text = new Uint8Array(e.data.text);
  let file: Deno.FsFile | null = null;
  let path = "";
  const closeFile = () => {
    const f = file;
    file = null;
    path = "";
    try {
      f?.close();
    } catch { /* closed already */ }
  };
  /** Hands the state back to the main thread. */
  const answer = (state: number) => {
    Atomics.store(control, CONTROL.state, state);
    Atomics.notify(control, CONTROL.state);
  };
  scope.postMessage("ready");
  try {
    serve();
  } finally {
    closeFile();
    // However it ends, a main thread waiting for it must not wait forever, and must know it is
    // gone (Failed would only say that one fdatasync failed).
    if (Atomics.load(control, CONTROL.state) !== SyncState.Stop) answer(SyncState.Dead);
  }

  /** Answers requests until told to stop. */
  function serve(): void {
    // The main thread writes the state only when it is not Requested or Release, this worker
    // only when it is: each side owns it in turn.
    for (;;) {
      let state = Atomics.load(control, CONTROL.state);
      while (state !== SyncState.Requested && state !== SyncState.Release) {
        if (state === SyncState.Stop) return;
        Atomics.wait(control, CONTROL.state, state);
        state = Atomics.load(control, CONTROL.state);
      }
      if (state === SyncState.Release) closeFile();
      answer(state === SyncState.Release || sync() ? SyncState.Done : SyncState.Failed);
    }
  }

  /** fdatasyncs the requested file; false (with the error's message in `text`) if that failed. */
  function sync(): boolean {
    try {
      const wanted = new TextDecoder().decode(text.subarray(0, control[CONTROL.pathLength]));
      if (wanted !== path) {
        closeFile();
        // Opened for writing, though it never writes: Windows flushes only such handles.
        file = Deno.openSync(wanted, { write: true });
        path = wanted;
      }
      file!.syncDataSync();
      return true;
    } catch (err) {
      const message = new TextEncoder().encode(String((err as Error)?.message ?? err));
      const n = Math.min(message.length, text.length);
      text.set(message.subarray(0, n));
      control[CONTROL.errorLength] = n;
      closeFile();
      return false;
    }
  }
};
