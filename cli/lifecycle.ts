import type { Logger } from '../infra/observability/logger.js';

/**
 * Runs `shutdown` once on SIGINT or SIGTERM and resolves when it finished; a second signal during
 * shutdown exits at once. The order inside `shutdown` is the caller's: stop intake, drain consumers,
 * flush the writer, commit, disconnect.
 */
export function onShutdownSignal(logger: Logger, shutdown: (signal: string) => Promise<void>): Promise<string> {
  return new Promise((resolve) => {
    let started = false;
    const handle = (signal: NodeJS.Signals): void => {
      if (started) {
        logger.warn({ signal }, 'second signal: exiting without a clean shutdown');
        process.exit(130);
      }
      started = true;
      logger.info({ signal }, 'shutting down');
      shutdown(signal).then(
        () => resolve(signal),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(signal);
        },
      );
    };
    process.on('SIGINT', handle);
    process.on('SIGTERM', handle);
  });
}
