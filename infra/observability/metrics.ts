import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The pipeline's own metrics. One instance per process, built by the composition root and passed
 * to the parts that report; names are stable and variables live in labels.
 */
export class PipelineMetrics {
  readonly registry = new Registry();

  readonly events = new Counter({
    name: 'ptel_events_total',
    help: 'Events handled by the normalizer, by source, type and outcome (ok, dead_letter, drop).',
    labelNames: ['source', 'type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly published = new Counter({
    name: 'ptel_bus_published_total',
    help: 'Messages acknowledged by the bus, by topic.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: 'ptel_dead_letters_total',
    help: 'Messages sent to a dead-letter topic, by input topic and reason code.',
    labelNames: ['topic', 'reason'] as const,
    registers: [this.registry],
  });

  readonly consumerLag = new Gauge({
    name: 'ptel_consumer_lag',
    help: 'Messages behind the end of the partition after the last handled batch.',
    labelNames: ['group', 'topic', 'partition'] as const,
    registers: [this.registry],
  });

  readonly rowsWritten = new Counter({
    name: 'ptel_store_rows_written_total',
    help: 'Rows written to ClickHouse, by table.',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });

  readonly flushSeconds = new Histogram({
    name: 'ptel_store_flush_seconds',
    help: 'Duration of one batch-writer flush.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly dataQualityNotes = new Counter({
    name: 'ptel_data_quality_notes_total',
    help: 'Fields the normalizer could not read and left empty in an otherwise written row, by source, entity type and field.',
    labelNames: ['source', 'entity', 'field'] as const,
    registers: [this.registry],
  });

  readonly batchFailures = new Counter({
    name: 'ptel_batch_failures_total',
    help: 'Batches whose handling failed and were retried, by topic.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });

  readonly jobRuns = new Counter({
    name: 'ptel_job_runs_total',
    help: 'Scheduled job runs by job and outcome (ok, retried, failed).',
    labelNames: ['job', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: 'ptel_job_duration_seconds',
    help: 'Duration of scheduled job runs.',
    labelNames: ['job'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });

  readonly alertDeliveries = new Counter({
    name: 'ptel_alert_deliveries_total',
    help: 'Stall alert messages by channel type, kind (opened, renotified, resolved) and outcome (sent, failed).',
    labelNames: ['channel_type', 'kind', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'ptel_process_' });
  }
}
