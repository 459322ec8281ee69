import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaLogLevel } from './kafka.js';

describe("the Kafka client's log levels", () => {
  it('writes a response with a protocol error the client retries at warn, any other error at error', () => {
    // Routine while a broker restarts or the group rebalances: the client retries them itself.
    expect(kafkaLogLevel(logLevel.ERROR, { error: 'The group is rebalancing, so a rejoin is needed' })).toBe('warn');
    expect(kafkaLogLevel(logLevel.ERROR, { error: 'This server is not the leader for that topic-partition' })).toBe('warn');
    // Not retried: a misconfiguration an operator has to see.
    expect(kafkaLogLevel(logLevel.ERROR, { error: 'Not authorized to access topics: [Topic authorization failed]' })).toBe('error');
    expect(kafkaLogLevel(logLevel.ERROR, { error: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092' })).toBe('error');
    expect(kafkaLogLevel(logLevel.ERROR, {})).toBe('error');
    expect(kafkaLogLevel(logLevel.WARN, { error: 'The group is rebalancing, so a rejoin is needed' })).toBe('warn');
    expect(kafkaLogLevel(logLevel.INFO, {})).toBe('info');
  });
});
