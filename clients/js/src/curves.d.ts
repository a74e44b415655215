// Types of the curve store (src/curves.js): `rp.curves`, and the save
// fields every acquisition takes.

import type { NATrace, RequestOptions, ScopeTrace, Spectrum, Timing } from "./index.js";

export interface CurveArray { name: string; dtype: string; shape: number[] }

/** A stored curve's metadata. */
export interface Curve extends Timing {
  id: string;
  instrument: "scope" | "na" | "specan";
  board: string;
  /** The acquisition's id (the trace's id). */
  acquisition: string;
  seq?: number;
  /** Who saved it: the user of its request's reply inbox (_INBOX_<user>). */
  user?: string;
  name?: string;
  tags?: string[];
  note?: string;
  /** Never evicted when the store is full. */
  keep?: boolean;
  settings?: Record<string, unknown>;
  arrays?: CurveArray[];
  bytes?: number;
  /** Unix s. */
  saved?: number;
}

export interface CurveQuery {
  board?: string;
  instrument?: "scope" | "na" | "specan";
  name_prefix?: string;
  tag?: string;
  user?: string;
  acquisition?: string;
  since?: number;
  until?: number;
  keep?: boolean;
  limit?: number;
  cursor?: string;
}

export interface CurveList {
  curves: Curve[];
  /** The next page's cursor; absent on the last. */
  next?: string;
  store: { curves: number; kept: number; bytes: number; max_bytes: number };
}

export type Trace = ScopeTrace | NATrace | Spectrum;

export const CURVES: Readonly<{ list: string; get: string; update: string; delete: string }>;

export class Curves {
  list(query?: CurveQuery, options?: RequestOptions): Promise<CurveList>;
  all(query?: CurveQuery, options?: RequestOptions): AsyncGenerator<Curve, void, undefined>;
  /** The stored trace as the instrument's reply was, its metadata in `meta`. */
  get(id: string, options?: RequestOptions): Promise<Trace & { meta: Curve }>;
  getWithMeta(id: string, options?: RequestOptions): Promise<{ curve: Curve; trace: Trace }>;
  update(id: string, changes: { name?: string; tags?: string[]; note?: string; keep?: boolean }, options?: RequestOptions): Promise<Curve>;
  delete(id: string, options?: RequestOptions): Promise<void>;
}

/** What saving adds to every acquisition's settings and reply. */
interface SaveSettings {
  /** Store the result in the curve store before the reply, which then carries its curve id. */
  save?: boolean;
  name?: string;
  tags?: string[];
}

declare module "./index.js" {
  interface Rpbus {
    readonly curves: Curves;
  }
  interface ScopeSettings extends SaveSettings {
    /** Continuous runs: store one trace in N. */
    save_every?: number;
  }
  interface NASettings extends SaveSettings {}
  interface SpecanSettings extends SaveSettings {}
  interface ScopeTrace { curve?: string }
  interface NATrace { curve?: string }
  interface Spectrum { curve?: string }
}
