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

let tmpCount = 0;

/** Writes all of `bytes` at the file's position (a write may take only part of them). */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
}

/** {@link writeAll}, blocking (a write to the page cache is a short copy). */
export function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length;) off += file.writeSync(bytes.subarray(off));
}

/**
 * Replaces `path` with `text` so that a crash leaves either the old or the new file, whole:
 * written to a temporary file, fdatasynced, renamed into place, and the directory synced.
 * `mode` sets the new file's permissions (a rewritten file keeps the old one's).
 */
export async function writeFileAtomic(path: string, text: string, mode?: number): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/")) || ".";
  // Unique: two rewrites of one file may overlap.
  const tmp = `${dir}/.${path.slice(path.lastIndexOf("/") + 1)}.tmp-${Deno.pid}-${++tmpCount}`;
  try {
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      await writeAll(f, new TextEncoder().encode(text));
      await f.syncData();
    } finally {
      f.close();
    }
    if (mode !== undefined) await Deno.chmod(tmp, mode & 0o7777);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dir);
}
