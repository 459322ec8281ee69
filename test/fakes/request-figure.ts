import type { Figures } from '../../bench/figures.js';

/** A collection figure: the requests a sync sent beside the API's request bound for the data served, held to 1.1 of it. */
export function addRequestFigure(figures: Figures | undefined, name: string, requests: number, bound: number, api: string): void {
  figures?.add({
    name,
    value: requests,
    unit: 'requests',
    limit: { value: bound, what: `${api} request bound` },
    goal: { ratio: 1.1, atMost: true },
  });
}
