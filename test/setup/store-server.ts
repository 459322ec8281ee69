import { inject } from 'vitest';
import { TEST_STORE_URL_ENV } from '../support/harness.js';

// The `store-server` project: testStore() opens its databases on the suite's ClickHouse server
// (test/setup/services.ts starts it and provides its address) instead of the in-process engine.
const url = inject('clickhouseUrl');
if (url === undefined || url === '')
  throw new Error("the store-server project needs the ClickHouse server's address (inject('clickhouseUrl'))");
process.env[TEST_STORE_URL_ENV] = url;
