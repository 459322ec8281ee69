import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { processIsAlive } from '../data-dir.js';

/**
 * How a process that holds the embedded store tells other processes where to read it: a file
 * `store.json` in the data folder naming the bridge's URL and credentials (see bridge.ts). Only the
 * folder's owner can read it (mode 0600), the same trust boundary as the data itself.
 */
export interface StoreAdvertisement {
  /** Base URL of the ClickHouse HTTP interface, e.g. http://127.0.0.1:38123 */
  url: string;
  user: string;
  password: string;
  /** The process serving it; the advertisement is void once that process is gone. */
  pid: number;
}

export const ADVERTISEMENT_FILE = 'store.json';

const advertisementSchema = z.object({
  url: z.url({ protocol: /^https?$/ }),
  user: z.string().min(1),
  password: z.string(),
  pid: z.number().int().positive(),
});

/**
 * Writes dataDir/store.json (mode 0600, via a temporary file and a rename so a reader never sees a
 * partial file). Returns a remover that deletes the file only while it still names `ad.pid`, so a
 * process that stops late does not remove its successor's advertisement.
 */
export function advertiseStore(dataDir: string, ad: StoreAdvertisement): () => void {
  const parsed = advertisementSchema.safeParse(ad);
  if (!parsed.success) throw new Error(`store advertisement is not valid: ${describeIssues(parsed.error)}`);
  const file = path.join(dataDir, ADVERTISEMENT_FILE);
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, `${JSON.stringify(parsed.data, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  return () => {
    const current = readAdvertisement(file);
    if (current.kind === 'found' && current.ad.pid === ad.pid) rmSync(file, { force: true });
  };
}

/**
 * The advertisement in dataDir when the process it names still runs; undefined when there is none or
 * its process is gone (the stale file is then removed). A file that is not an advertisement is an
 * error naming the file and what is wrong with it.
 */
export function findRunningStore(dataDir: string): StoreAdvertisement | undefined {
  const file = path.join(dataDir, ADVERTISEMENT_FILE);
  const read = readAdvertisement(file);
  if (read.kind === 'absent') return undefined;
  if (read.kind === 'invalid') {
    throw new Error(`${file} is not a store advertisement (${read.reason}); remove it if no ptel process is running on ${dataDir}`);
  }
  if (processIsAlive(read.ad.pid)) return read.ad;
  rmSync(file, { force: true });
  return undefined;
}

type ReadResult = { kind: 'absent' } | { kind: 'invalid'; reason: string } | { kind: 'found'; ad: StoreAdvertisement };

function readAdvertisement(file: string): ReadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { kind: 'invalid', reason: `not JSON: ${(err as Error).message}` };
  }
  const parsed = advertisementSchema.safeParse(json);
  if (!parsed.success) return { kind: 'invalid', reason: describeIssues(parsed.error) };
  return { kind: 'found', ad: parsed.data };
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}
