/**
 * Making file-system changes durable. fdatasync of a file makes its bytes durable, not its name:
 * a file created or renamed into place is only sure to be found after a power loss once its
 * directory is synced too.
 *
 * @module
 */

/** fsyncs a directory, so the names created, renamed or removed in it so far are durable. */
export async function syncDir(dir: string): Promise<void> {
  const d = await Deno.open(dir, { read: true });
  try {
    await d.sync();
  } finally {
    d.close();
  }
}

/** {@link syncDir}, blocking (a segment file is created once per segment). */
export function syncDirSync(dir: string): void {
  const d = Deno.openSync(dir, { read: true });
  try {
    d.syncSync();
  } finally {
    d.close();
  }
}

/**
 * Replaces `path` with `text` so that a crash leaves either the old or the new file, whole:
 * written to a temporary file, fdatasynced, renamed into place, and the directory synced.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    const bytes = new TextEncoder().encode(text);
    for (let off = 0; off < bytes.length;) off += await f.write(bytes.subarray(off));
    await f.syncData();
  } finally {
    f.close();
  }
  await Deno.rename(tmp, path);
  await syncDir(path.slice(0, path.lastIndexOf("/")) || "/");
}
