import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config/load.js';
import { ManualClock } from '../../test/support/clock.js';
import { readTopic, startWebhookServer, type WebhookServer } from '../../test/support/bus.js';
import { tempDir, waitFor } from '../../test/support/harness.js';
import { cdeventsWebhook } from '../cdevents/index.js';
import { BodyTooLarge, DRAIN_MS, readBody, refuseOversizedBody } from './webhooks.js';
import { cdeventExample, structuredCloudEvent } from '../../test/support/cdevents.js';

const TOKEN = 'body-limit-test-token';
const LIMIT = 2048;
const CHUNK = Buffer.alloc(1024, 0x20);

/** The spec's example as a structured-mode CloudEvent. */
const example = structuredCloudEvent(cdeventExample('pipelinerun_finished'));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startReceiver(): Promise<WebhookServer> {
  const config = loadConfig({
    env: { PTEL_CDEVENTS_WEBHOOK_TOKEN: TOKEN },
    overrides: { 'sources.cdevents': {}, 'webhooks.maxBodyBytes': LIMIT },
    cwd: tempDir(),
  });
  const s = await startWebhookServer([cdeventsWebhook], config);
  cleanups.push(() => s.close());
  return s;
}

/** What a slow sender saw of one request. */
interface Exchange {
  status?: number;
  headers?: IncomingHttpHeaders;
  body: string;
  /** Body bytes written when the answer's head arrived. */
  sentAtAnswer?: number;
  /** Body bytes written in all. */
  sent: number;
  /** The response body was read to its end. */
  answerComplete: boolean;
  /** A socket error the sender met (a reset connection), if any. */
  error?: string;
  /** The connection is closed. */
  closed: boolean;
}

/**
 * A sender over a real socket that sends its head at once, then writes `total` body bytes in 1 KiB
 * chunks, each after the previous one is handed to the socket. Once `pauseAfter` bytes are out it
 * waits (bounded) for the answer before sending the rest, so how much it had sent when the answer
 * came is fixed by the server's behaviour, not by how the sender's writes and the answer's arrival
 * interleave in the event loop. With `stall` it never ends its body.
 */
function slowSender(
  url: string,
  options: { total: number; pauseAfter: number; declareLength: boolean; stall?: boolean },
): { exchange: Exchange; sending: Promise<void> } {
  const exchange: Exchange = { body: '', sent: 0, answerComplete: false, closed: false };
  const headers: Record<string, string | number> = {
    'content-type': 'application/cloudevents+json',
    authorization: `Bearer ${TOKEN}`,
  };
  if (options.declareLength) headers['content-length'] = options.total;
  const req = request(url, { method: 'POST', headers, agent: false });
  req.on('response', (res) => {
    exchange.status = res.statusCode;
    exchange.headers = res.headers;
    exchange.sentAtAnswer = exchange.sent;
    res.setEncoding('utf8');
    res.on('data', (d: string) => (exchange.body += d));
    res.on('end', () => (exchange.answerComplete = true));
    res.on('error', (err: NodeJS.ErrnoException) => (exchange.error ??= err.code ?? err.message));
  });
  req.on('error', (err: NodeJS.ErrnoException) => (exchange.error ??= err.code ?? err.message));
  req.on('socket', (socket) => socket.on('close', () => (exchange.closed = true)));
  // Without this, node:http holds a request with a declared length until its first body write.
  req.flushHeaders();
  const sending = (async () => {
    while (exchange.sent < options.total && exchange.error === undefined && !exchange.closed) {
      if (exchange.sent >= options.pauseAfter && exchange.status === undefined) {
        await waitFor(
          'the answer',
          () => exchange.status !== undefined || exchange.error !== undefined,
          (v) => v,
          { timeoutMs: 5_000, intervalMs: 5 },
        );
      }
      const piece = CHUNK.subarray(0, Math.min(CHUNK.length, options.total - exchange.sent));
      // Once it has the whole answer, node:http ends the connection and takes no more of the body.
      let written = false;
      req.write(piece, () => (written = true));
      await waitFor(
        'the piece to be written',
        () => written || exchange.answerComplete || exchange.error !== undefined || exchange.closed,
        (v) => v,
        { timeoutMs: 5_000, intervalMs: 1 },
      );
      if (!written) break;
      exchange.sent += piece.length;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (options.stall !== true && exchange.error === undefined && !exchange.closed) req.end();
    await waitFor(
      'the connection to close',
      () => exchange.closed,
      (v) => v,
      { timeoutMs: 10_000, intervalMs: 5 },
    );
  })();
  return { exchange, sending };
}

async function expectStillServing(s: WebhookServer): Promise<void> {
  const ok = await fetch(`${s.url}/webhooks/cdevents`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${TOKEN}` },
    body: example,
  });
  expect(ok.status).toBe(202);
  expect(await ok.json()).toEqual({ accepted: 1 });
  expect(await readTopic(s.bus, 'raw.cdevents')).toHaveLength(1);
}

/** What a sender on a raw socket saw: everything the server wrote, and how the connection ended. */
interface RawExchange {
  received: string;
  sent: number;
  sentAtAnswer?: number;
  /** The server closed its side in order (FIN). */
  ended: boolean;
  /** The connection was reset, or a write failed on it. */
  error?: string;
  closed: boolean;
}

/**
 * A sender writing HTTP/1.1 by hand, so it keeps sending after the answer as a sender that does not
 * read while it writes would: `total` body bytes in 1 KiB pieces (chunked or with a Content-Length
 * of `declared`), waiting (bounded) for the answer once `pauseAfter` bytes are out.
 */
function rawSender(
  port: number,
  options: { total: number; pauseAfter: number; declared?: number; stall?: boolean },
): { exchange: RawExchange; sending: Promise<void>; socket: Socket } {
  const exchange: RawExchange = { received: '', sent: 0, ended: false, closed: false };
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    exchange.received += d;
    if (exchange.sentAtAnswer === undefined && exchange.received.includes('\r\n\r\n')) exchange.sentAtAnswer = exchange.sent;
  });
  socket.on('end', () => (exchange.ended = true));
  socket.on('error', (err: NodeJS.ErrnoException) => (exchange.error ??= err.code ?? err.message));
  socket.on('close', () => (exchange.closed = true));
  const chunked = options.declared === undefined;
  const write = (data: string | Buffer): Promise<void> =>
    new Promise((resolve) =>
      socket.write(data, (err) => {
        if (err !== undefined && err !== null) exchange.error ??= (err as NodeJS.ErrnoException).code ?? err.message;
        resolve();
      }),
    );
  const sending = (async () => {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    await write(
      [
        'POST /webhooks/cdevents HTTP/1.1',
        'host: 127.0.0.1',
        'content-type: application/cloudevents+json',
        `authorization: Bearer ${TOKEN}`,
        chunked ? 'transfer-encoding: chunked' : `content-length: ${options.declared}`,
        '',
        '',
      ].join('\r\n'),
    );
    while (exchange.sent < options.total && exchange.error === undefined && !exchange.closed) {
      if (exchange.sent >= options.pauseAfter && exchange.sentAtAnswer === undefined) {
        await waitFor(
          'the answer',
          () => exchange.sentAtAnswer !== undefined || exchange.error !== undefined || exchange.closed,
          (v) => v,
          { timeoutMs: 5_000, intervalMs: 5 },
        );
      }
      const piece = CHUNK.subarray(0, Math.min(CHUNK.length, options.total - exchange.sent));
      await write(chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece);
      if (exchange.error === undefined) exchange.sent += piece.length;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (options.stall === true) return;
    if (chunked && exchange.error === undefined && !exchange.closed) await write('0\r\n\r\n');
    await waitFor(
      'the connection to close',
      () => exchange.closed,
      (v) => v,
      { timeoutMs: 10_000, intervalMs: 5 },
    );
  })();
  cleanups.push(() => {
    socket.destroy();
    return Promise.resolve();
  });
  return { exchange, sending, socket };
}

const portOf = (url: string): number => Number(new URL(url).port);

/** The answer's status and JSON body, from the raw bytes the sender received. */
function answerOf(raw: string): { status: number; headers: string; body: unknown } {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: JSON.parse(body) };
}

const refusal = { error: `request body larger than ${LIMIT} bytes` };

describe('an oversized webhook body', () => {
  it('sent chunked by node:http: the sender reads the 413 while still sending, without a reset', async () => {
    const s = await startReceiver();
    const total = 12 * 1024;
    // Past the limit, the sender waits for the answer: the server must refuse on what it has read so far.
    const pauseAfter = LIMIT + 1024;
    const { exchange, sending } = slowSender(`${s.url}/webhooks/cdevents`, { total, pauseAfter, declareLength: false });
    await sending;
    expect(exchange.error).toBeUndefined();
    expect(exchange.status).toBe(413);
    expect(exchange.headers?.['connection']).toBe('close');
    expect(JSON.parse(exchange.body)).toEqual(refusal);
    expect(exchange.answerComplete).toBe(true);
    expect(exchange.sentAtAnswer).toBeLessThanOrEqual(pauseAfter);
    await expectStillServing(s);
  });

  it('with a declared length over the limit, sent by node:http: answered before the body is sent', async () => {
    const s = await startReceiver();
    const total = 12 * 1024;
    // The sender sends its head, then waits for the answer before any of the body: only a server that
    // refuses on the declared length alone answers it.
    const { exchange, sending } = slowSender(`${s.url}/webhooks/cdevents`, { total, pauseAfter: 0, declareLength: true });
    await sending;
    expect(exchange.error).toBeUndefined();
    expect(exchange.status).toBe(413);
    expect(JSON.parse(exchange.body)).toEqual(refusal);
    expect(exchange.answerComplete).toBe(true);
    expect(exchange.sentAtAnswer).toBe(0);
    await expectStillServing(s);
  });

  it('with a declared length: a sender that keeps sending after the 413 finishes its body and sees an orderly close', async () => {
    const s = await startReceiver();
    const total = 12 * 1024;
    const { exchange, sending } = rawSender(portOf(s.url), { total, declared: total, pauseAfter: 1024 });
    await sending;
    expect(exchange.error).toBeUndefined();
    expect(exchange.sentAtAnswer).toBeLessThanOrEqual(1024);
    expect(exchange.sent).toBe(total);
    expect(exchange.ended).toBe(true);
    const answer = answerOf(exchange.received);
    expect(answer.status).toBe(413);
    expect(answer.headers).toContain('connection: close');
    expect(answer.body).toEqual(refusal);
    await expectStillServing(s);
  });

  it('chunked: a sender that keeps sending after the 413 finishes its body and sees an orderly close', async () => {
    const s = await startReceiver();
    const total = 12 * 1024;
    const { exchange, sending } = rawSender(portOf(s.url), { total, pauseAfter: LIMIT + 1024 });
    await sending;
    expect(exchange.error).toBeUndefined();
    expect(exchange.sentAtAnswer).toBeLessThan(total);
    expect(exchange.sent).toBe(total);
    expect(exchange.ended).toBe(true);
    expect(answerOf(exchange.received)).toMatchObject({ status: 413, body: refusal });
    await expectStillServing(s);
  });

  it('past the drain bound (8x the limit) is cut off, after the sender had its 413', async () => {
    const s = await startReceiver();
    const total = 1024 * 1024;
    const { exchange, sending } = rawSender(portOf(s.url), { total, declared: total, pauseAfter: 1024 });
    await sending;
    expect(answerOf(exchange.received)).toMatchObject({ status: 413, body: refusal });
    expect(exchange.closed).toBe(true);
    expect(exchange.sent).toBeLessThan(total);
    await expectStillServing(s);
  });
});

describe('draining a refused body', () => {
  it('stops waiting for a stalled sender when the time bound passes on the clock', async () => {
    const clock = new ManualClock('2026-06-01T00:00:00Z');
    let answered = false;
    const server: Server = createServer((req, res) => {
      readBody(req, 1024).then(
        () => res.writeHead(202).end(),
        (err: unknown) => {
          if (!(err instanceof BodyTooLarge)) throw err;
          res.on('finish', () => (answered = true));
          refuseOversizedBody(req, res, { limit: 1024, received: err.received, maxBytes: 1024 * 1024, maxMs: 10_000, clock });
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const { port } = server.address() as AddressInfo;
    // Sends 4 KiB of a chunked body and never ends it.
    const { exchange, sending } = rawSender(port, { total: 4 * 1024, pauseAfter: 2 * 1024, stall: true });
    await sending;
    expect(exchange.sent).toBe(4 * 1024);
    expect(answerOf(exchange.received)).toMatchObject({ status: 413, body: { error: 'request body larger than 1024 bytes' } });
    expect(exchange.closed).toBe(false);
    expect(clock.pending).toBe(1);
    await clock.advance(9_999);
    expect(answered).toBe(false);
    expect(exchange.closed).toBe(false);
    await clock.advance(1);
    await waitFor(
      'the connection to close',
      () => exchange.closed,
      (v) => v,
      { timeoutMs: 5_000, intervalMs: 5 },
    );
    expect(answered).toBe(true);
    expect(exchange.error).toBeUndefined();
    expect(clock.pending).toBe(0);
  });
});

describe('the webhook routes on a clock', () => {
  it("drain a refused body until their clock's time bound, not the wall clock's", async () => {
    const clock = new ManualClock('2026-06-01T00:00:00Z');
    const config = loadConfig({
      env: { PTEL_CDEVENTS_WEBHOOK_TOKEN: TOKEN },
      overrides: { 'sources.cdevents': {}, 'webhooks.maxBodyBytes': LIMIT },
      cwd: tempDir(),
    });
    const running = await startWebhookServer([cdeventsWebhook], config, clock);
    cleanups.push(() => running.close());
    // A chunked body of four times the limit that never ends; the 413 comes once it passes the limit.
    const { exchange, sending } = rawSender(portOf(running.url), { total: 4 * LIMIT, pauseAfter: 2 * LIMIT, stall: true });
    await sending;
    expect(answerOf(exchange.received)).toMatchObject({ status: 413, body: refusal });
    expect(exchange.closed).toBe(false);
    expect(clock.pending).toBe(1);
    await clock.advance(DRAIN_MS - 1);
    expect(exchange.closed).toBe(false);
    await clock.advance(1);
    await waitFor(
      'the connection to close',
      () => exchange.closed,
      (v) => v,
      { timeoutMs: 5_000, intervalMs: 5 },
    );
    expect(exchange.error).toBeUndefined();
    expect(clock.pending).toBe(0);
  });
});
