export declare const LAYERS: string[][];
export declare function groupOf(rel: string): string;
export declare function importEdges(root: string): Array<[string, string]>;
export declare function layerViolations(edges: Array<[string, string]>): string[];
export declare function importCycles(edges: Array<[string, string]>): string[][];
export declare function groupGraph(edges: Array<[string, string]>): Array<[string, number]>;
