import { MapperRegistry } from './registry.js';

/**
 * The mappers of every source, registered in one place. Event types without a mapper are still kept
 * in raw_events (and counted as ok), so adding a mapper later and running `ptel replay` fills the
 * domain tables from history.
 */
export function createMapperRegistry(): MapperRegistry {
  return new MapperRegistry();
}
