/**
 * The worker behind {@link SyncThread} (sync_thread.ts): fdatasyncs a segment file each time the
 * main thread asks, through shared memory only. It blocks in `Atomics.wait` between requests, so
 * it never receives messages after the first one, which hands it the shared buffers.
 *
 * @module
 */
import { CONTROL, SyncState, type SyncThreadBuffers } from "./sync_thread.ts";

self.onmessage = (e: MessageEvent<SyncThreadBuffers>) => {
  const control = new Int32Array(e.data.control);
  const text = new Uint8Array(e.data.text);
  let file: Deno.FsFile | null = null;
  let path = "";
  const closeFile = () => {
    file?.close();
    file = null;
    path = "";
  };
  self.postMessage("ready");
  // The main thread writes the state only when it is not Requested or Release, this worker only
  // when it is: each side owns it in turn.
  for (;;) {
    let state = Atomics.load(control, CONTROL.state);
    while (state !== SyncState.Requested && state !== SyncState.Release) {
      if (state === SyncState.Stop) return closeFile();
      Atomics.wait(control, CONTROL.state, state);
      state = Atomics.load(control, CONTROL.state);
    }
    if (state === SyncState.Release) {
      closeFile();
      Atomics.store(control, CONTROL.state, SyncState.Done);
      Atomics.notify(control, CONTROL.state);
      continue;
    }
    try {
      const wanted = new TextDecoder().decode(text.subarray(0, control[CONTROL.pathLength]));
      if (wanted !== path) {
        closeFile();
        // Opened for writing, though it never writes: Windows flushes only such handles.
        file = Deno.openSync(wanted, { write: true });
        path = wanted;
      }
      file!.syncDataSync();
      Atomics.store(control, CONTROL.state, SyncState.Done);
    } catch (err) {
      const message = new TextEncoder().encode(String((err as Error)?.message ?? err));
      const n = Math.min(message.length, text.length);
      text.set(message.subarray(0, n));
      control[CONTROL.errorLength] = n;
      closeFile();
      Atomics.store(control, CONTROL.state, SyncState.Failed);
    }
    Atomics.notify(control, CONTROL.state);
  }
};
