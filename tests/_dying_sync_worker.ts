/**
 * A stand-in for engine/log/sync_thread_worker.ts that dies at its first request, as the real
 * worker's last resort reports it (state Dead), for the SyncThread tests.
 */
import { CONTROL, SyncState, type SyncThreadBuffers } from "../engine/log/sync_thread.ts";

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<SyncThreadBuffers>) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = (e) => {
  const control = new Int32Array(e.data.control);
  scope.postMessage("ready");
  let state = Atomics.load(control, CONTROL.state);
  while (state !== SyncState.Requested) {
    Atomics.wait(control, CONTROL.state, state);
    state = Atomics.load(control, CONTROL.state);
  }
  Atomics.store(control, CONTROL.state, SyncState.Dead);
  Atomics.notify(control, CONTROL.state);
};
