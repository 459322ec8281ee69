import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Writes the files into a new folder beside `target` (each synced to disk), then swaps it into place. */
export async function writeFolder(target: string, files: Record<string, string>): Promise<void> {
  const parent = path.dirname(target);
  await mkdir(parent, { recursive: true });
  const tmp = path.join(parent, `.${path.basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp);
  const old = `${tmp}.old`;
  try {
    for (const [name, text] of Object.entries(files)) {
      const fh = await open(path.join(tmp, name), 'w');
      try {
        await fh.writeFile(text, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    // A folder cannot be renamed over a folder that has files: the previous export steps aside first.
    const replacing = existsSync(target);
    if (replacing) await rename(target, old);
    try {
      await rename(tmp, target);
    } catch (err) {
      if (replacing) await rename(old, target);
      throw err;
    }
    const dir = await open(parent, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
}
