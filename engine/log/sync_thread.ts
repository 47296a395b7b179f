/**
 * A worker thread that fdatasyncs one shard's open segment file while the main thread fdatasyncs
 * another's, so that a group commit over several shards takes about one fdatasync's time instead
 * of one per shard (two shards side by side on this machine: ~180 µs, one after the other:
 * ~300 µs). The main thread blocks until the worker is done (`Atomics.wait`): a group commit
 * blocks the event loop for its fdatasyncs, as Redis's `appendfsync always` does (see
 * group_commit.ts for why).
 *
 * The two threads talk through shared memory only: the worker waits in `Atomics.wait` between
 * requests. The worker opens the segment file itself, by path (fdatasync flushes a file, whichever
 * descriptor wrote it), and keeps it open until it is asked for another one or to let go of it.
 *
 * @module
 */

/** Indexes into the control array. */
export const CONTROL = { state: 0, pathLength: 1, errorLength: 2 } as const;

/** The control state; see the worker for who writes which. */
export const SyncState = {
  Idle: 0,
  Requested: 1,
  Done: 2,
  Failed: 3,
  Release: 4,
  Stop: 5,
  /** Written by a worker that ended other than by Stop: it answers nothing more. */
  Dead: 6,
} as const;

/** What the worker gets in its one message. */
export interface SyncThreadBuffers {
  control: SharedArrayBuffer;
  /** The path to fdatasync (in), or the error message (out). */
  text: SharedArrayBuffer;
}

const TEXT_BYTES = 4096;

/** One worker thread that fdatasyncs files on request. */
export class SyncThread {
  private readonly control: Int32Array;
  private readonly text: Uint8Array;
  private readonly worker: Worker;
  private path = "";
  private started = false;
  /** True once the worker runs (it starts asynchronously; until then, sync on the main thread). */
  ready = false;
  /** True when the worker failed to start or died: it is not used again. */
  broken = false;

  constructor(
    onBroken: (e: unknown) => void,
    worker: URL = new URL("./sync_thread_worker.ts", import.meta.url),
  ) {
    const buffers: SyncThreadBuffers = {
      control: new SharedArrayBuffer(4 * 3),
      text: new SharedArrayBuffer(TEXT_BYTES),
    };
    this.control = new Int32Array(buffers.control);
    this.text = new Uint8Array(buffers.text);
    this.worker = new Worker(worker.href, { type: "module" });
    this.worker.onmessage = () => this.ready = !this.broken;
    this.worker.onerror = (e) => {
      e.preventDefault();
      if (this.broken) return;
      this.ready = false;
      this.broken = true;
      onBroken(e.error ?? e.message);
    };
    this.worker.postMessage(buffers);
  }

  /** Whether a path fits the shared buffer (longer ones are fdatasynced on the main thread). */
  static fits(path: string): boolean {
    return new TextEncoder().encode(path).length <= TEXT_BYTES;
  }

  /**
   * Starts an fdatasync of the file at `path`; {@link wait} for its result. False when the
   * worker is gone (then {@link broken}).
   */
  start(path: string): boolean {
    if (this.settle() === SyncState.Dead) return false;
    if (path !== this.path) {
      const { written } = new TextEncoder().encodeInto(path, this.text);
      this.control[CONTROL.pathLength] = written;
      this.path = path;
    }
    this.started = true;
    Atomics.store(this.control, CONTROL.state, SyncState.Requested);
    Atomics.notify(this.control, CONTROL.state);
    return true;
  }

  /**
   * Blocks until the fdatasync started by {@link start} is done: null when it was, its error
   * when it failed. When the worker died instead, {@link broken} is set and the file may not
   * have been fdatasynced: the caller must do it.
   */
  wait(): Error | null {
    if (!this.started) return null;
    this.started = false;
    const state = this.settle();
    if (state !== SyncState.Failed) return null;
    this.path = "";
    const message = new TextDecoder().decode(
      this.text.subarray(0, this.control[CONTROL.errorLength]),
    );
    return new Error(message);
  }

  /** Makes the worker close the file it holds (compaction removed it: its space is freed). */
  release(): void {
    if (!this.ready || this.path === "") return;
    if (this.settle() === SyncState.Dead) return;
    this.path = "";
    Atomics.store(this.control, CONTROL.state, SyncState.Release);
    Atomics.notify(this.control, CONTROL.state);
    this.settle(); // a close(): the space is free when this returns
  }

  /** Stops the worker. */
  stop(): void {
    // Told to stop even before it said it is ready: it may be waiting already, and terminate()
    // does not wake a worker out of Atomics.wait (the process would never exit).
    if (!this.broken && this.settle() !== SyncState.Dead) {
      Atomics.store(this.control, CONTROL.state, SyncState.Stop);
      Atomics.notify(this.control, CONTROL.state);
    }
    this.ready = false;
    this.broken = true;
    this.worker.terminate();
  }

  /**
   * Waits while the worker owns the state (a request or release under way); returns the state
   * it left. A dead worker makes this thread {@link broken}.
   */
  private settle(): number {
    for (;;) {
      const state = Atomics.load(this.control, CONTROL.state);
      if (state === SyncState.Dead) {
        this.ready = false;
        this.broken = true;
      }
      if (state !== SyncState.Requested && state !== SyncState.Release) return state;
      Atomics.wait(this.control, CONTROL.state, state);
    }
  }
}
