// Types of the rpbus JavaScript client. Field names are those of the wire
// (docs/protocol.md, Go package api); units: seconds, hertz, volts.

import type { NatsConnection, NodeConnectionOptions } from "@nats-io/transport-node";

/** The wire's error numbers. */
export type ErrorCode = 400 | 404 | 408 | 409 | 499 | 500 | 503;
export type ErrorKind = "invalid" | "not_found" | "timeout" | "busy" | "cancelled" | "internal" | "unavailable";

export class RpbusError extends Error {
  constructor(code: number, message: string, options?: { cause?: unknown; subject?: string });
  /** 400 bad input, 404 unknown board/module/id or no responders, 408 timeout, 409 busy, 499 cancelled, 500 internal, 503 unavailable. */
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  /** The subject of the failed request, when known. */
  readonly subject?: string;
}
export function isRpbusError(err: unknown, code?: ErrorCode): err is RpbusError;
export const Codes: Readonly<Record<ErrorKind, ErrorCode>>;
export const KINDS: Readonly<Record<ErrorCode, ErrorKind>>;

export interface RequestOptions {
  /** Seconds until a local 408 (default: derived from the request; 5 s otherwise). */
  timeout?: number;
  /** Aborting rejects with 499 after asking the service to cancel the work. */
  signal?: AbortSignal;
}

export interface EventOptions {
  /** Ends the stream. */
  signal?: AbortSignal;
  /** Only events of this acquisition id. */
  id?: string;
  /** End after this many events. */
  max?: number;
}

/** An event; `error` is set when it carried error headers (a failed acquisition's done event). */
export type Event<T> = T & { error?: RpbusError };

export class EventStream<T> implements AsyncIterable<Event<T>> {
  readonly subject: string;
  close(): void;
  /** The next event (undefined once ended); 408 after timeout seconds without one. */
  next(timeout?: number): Promise<Event<T> | undefined>;
  [Symbol.asyncIterator](): AsyncIterator<Event<T>>;
}

export interface ConnectOptions extends Partial<Omit<NodeConnectionOptions, "timeout" | "user" | "pass" | "token">> {
  /** Requests in flight at once (default 64); more wait for a slot. */
  maxInFlight?: number;
  /** Seconds one connection attempt may take (default 2). */
  timeout?: number;
  /** Credentials, at most one kind: user and password, token, creds (a credentials file path) or nkey (an nkey seed file path). */
  user?: string;
  password?: string;
  token?: string;
  creds?: string;
  nkey?: string;
}

/** Seconds one connection attempt may take before connect() says why it failed. */
export const CONNECT_TIMEOUT: number;
/** Whom a connection logs in as, without secrets: "as user \"bob\"", "with a token", ... */
export function describeCredentials(c?: { user?: string; token?: string; creds?: string; nkey?: string }): string;

export function connect(servers?: string | string[], options?: ConnectOptions): Promise<Rpbus>;

export class Rpbus {
  constructor(nc: NatsConnection, options?: { maxInFlight?: number; ownsConnection?: boolean });
  readonly nc: NatsConnection;
  board(name: string): Board;
  /** Any subject: body is sent in msgpack, the reply decoded (arrays as typed arrays). */
  request<T = any>(subject: string, body?: unknown, options?: RequestOptions & { cancel?: { subject: string; id: string } }): Promise<T>;
  subscribe<T = any>(subject: string, options?: EventOptions): EventStream<T>;
  /** Drains the connection if connect() made it. */
  close(): Promise<void>;
}

export class Board {
  readonly client: Rpbus;
  readonly name: string;
  readonly hw: HW;
  readonly asg0: Generator;
  readonly asg1: Generator;
  readonly scope: Scope;
  readonly na: NA;
  readonly specan: Specan;
  subject(module: string, verb: string): string;
  info(options?: RequestOptions): Promise<HWInfo>;
}

export type Addr = number | string;
export interface ReadOp { op: "read"; addr: Addr; n: number; width?: 16 | 32 }
export interface WriteOp { op: "write"; addr: Addr; words: number[] | Uint32Array }
export interface WaitOp { op: "wait"; addr: Addr; mask: number; value: number; timeout?: number }
export type Op = ReadOp | WriteOp | WaitOp;
export const ops: {
  read(addr: Addr, n?: number, width?: 16 | 32): ReadOp;
  write(addr: Addr, ...words: number[]): WriteOp;
  write(addr: Addr, words: number[] | Uint32Array): WriteOp;
  wait(addr: Addr, mask: number, value: number, timeout?: number): WaitOp;
};

export interface OpResult { words?: Uint32Array; halves?: Uint16Array; waited?: number }
export interface TxnReply { results: OpResult[]; modules: string[]; started: number; elapsed: number }
export interface HWDesign {
  name: string;
  signature: string;
  dna?: string;
  loader?: string;
  bitstream?: string;
  sha256?: string;
}
export interface HWInfo {
  board: string;
  backend: "sim" | "monitor" | "devmem";
  address?: string;
  clock: number;
  bitstream: string;
  scope_samples: number;
  decimations: number[];
  modules: string[];
  signals: string[];
  generators: string[];
  version: string;
  sim_model?: Record<string, unknown>;
  os?: string;
  design?: HWDesign;
}

export class HW {
  info(options?: RequestOptions): Promise<HWInfo>;
  txn(ops: Op[], options?: RequestOptions & { id?: string }): Promise<TxnReply>;
  read(addr: Addr, n?: number, options?: RequestOptions): Promise<Uint32Array>;
  write(addr: Addr, words: number | number[] | Uint32Array, options?: RequestOptions): Promise<void>;
  cancel(id: string, options?: RequestOptions): Promise<{ id: string; cancelled: boolean }>;
}

export interface ASGSetup {
  waveform?: "sin" | "cos" | "ramp" | "halframp" | "square" | "dc" | "noise";
  frequency?: number;
  amplitude?: number;
  offset?: number;
  start_phase?: number;
  output_direct?: "off" | "out1" | "out2" | "both";
  trigger_source?: "off" | "immediately" | "ext_positive_edge" | "ext_negative_edge" | "ext_raw" | "high";
  cycles_per_burst?: number;
  bursts?: number;
  delay_between_bursts?: number;
}
export interface ASGSettings extends Required<ASGSetup> { generator: string }

export class Generator {
  readonly name: "asg0" | "asg1";
  setup(settings?: ASGSetup, options?: RequestOptions): Promise<ASGSettings>;
}

export interface Timing { requested: number; started: number; ended: number }
export interface Progress { id: string; done: number; total: number; frequency?: number; re?: number; im?: number }
export interface StopReply { cancelled: number; continuous: boolean }

export class Instrument<Done = unknown> {
  readonly module: string;
  cancel(id: string, options?: RequestOptions): Promise<{ id: string; cancelled: boolean }>;
  stop(options?: RequestOptions): Promise<StopReply>;
  done(options?: EventOptions): EventStream<Done>;
  progress(options?: EventOptions): EventStream<Progress>;
}

export type Signal = "in1" | "in2" | "out1" | "out2" | "asg0" | "asg1" | "iq0" | "iq1" | "iq2" | "iq2_2" | "pid0" | "pid1" | "pid2";

export interface ScopeSettings {
  id?: string;
  input1?: Signal;
  input2?: Signal;
  duration?: number;
  decimation?: number;
  trigger_source?: "immediately" | "ch1_positive_edge" | "ch1_negative_edge" | "ch2_positive_edge" | "ch2_negative_edge" | "ext_positive_edge" | "ext_negative_edge" | "asg0" | "asg1" | "dsp";
  threshold?: number;
  hysteresis?: number;
  trigger_delay?: number;
  average?: boolean;
  trace_average?: number;
  timeout?: number;
}
export interface ScopeTrace extends Timing {
  id: string;
  board: string;
  seq?: number;
  settings: ScopeSettings;
  t0: number;
  dt: number;
  ch1?: Float32Array;
  ch2?: Float32Array;
  trigger_time: number;
}
export interface ContinuousReply { id: string; subject: string; settings: ScopeSettings }

export class Scope extends Instrument<ScopeTrace> {
  single(settings?: ScopeSettings, options?: RequestOptions): Promise<ScopeTrace>;
  continuous(settings?: ScopeSettings, options?: RequestOptions): Promise<ContinuousReply>;
  traces(options?: EventOptions): EventStream<ScopeTrace>;
  /** Starts continuous mode and yields its traces; scope.stop when the loop ends. */
  stream(settings?: ScopeSettings, options?: { signal?: AbortSignal; max?: number; timeout?: number }): AsyncGenerator<Event<ScopeTrace>, void, undefined>;
}

export interface NASettings {
  id?: string;
  start_freq?: number;
  stop_freq?: number;
  points?: number;
  rbw?: number;
  average_per_point?: number;
  /** PyRPL's older name of average_per_point (give one). */
  avg_per_point?: number;
  amplitude?: number;
  input?: Signal;
  output_direct?: "off" | "out1" | "out2" | "both";
  acbandwidth?: number;
  logscale?: boolean;
  auto_bandwidth?: boolean;
  q_factor_min?: number;
  trace_average?: number;
  timeout?: number;
  no_wait?: boolean;
}
export interface NATrace extends Timing {
  id: string;
  board: string;
  iq: string;
  settings: NASettings;
  frequencies: Float64Array;
  time?: Float64Array;
  re: Float64Array;
  im: Float64Array;
  hardware_time: number;
}
export class NA extends Instrument<NATrace> {
  single(settings?: NASettings, options?: RequestOptions): Promise<NATrace>;
}

export interface SpecanSettings {
  id?: string;
  span?: number;
  decimation?: number;
  input1?: Signal;
  input2?: Signal;
  window?: "blackman" | "flattop" | "boxcar" | "hamming" | "gaussian";
  trace_average?: number;
  unit?: "Vpk^2" | "dB(Vpk^2)" | "Vpk" | "Vrms^2" | "dB(Vrms^2)" | "Vrms" | "Vrms^2/Hz" | "dB(Vrms^2/Hz)" | "Vrms/sqrt(Hz)";
  cross?: boolean;
  timeout?: number;
  /** PyRPL's rbw (Hz): picks the decimation whose rbw (ENBW x 125 MHz / decimation) is nearest; instead of span or decimation. */
  rbw?: number;
  /** PyRPL's names of unit, input1 and input2; baseband must be true. */
  display_unit?: SpecanSettings["unit"];
  input1_baseband?: Signal;
  input2_baseband?: Signal;
  baseband?: boolean;
}
export interface Spectrum extends Timing {
  id: string;
  board: string;
  settings: SpecanSettings;
  frequencies: Float64Array;
  ch1: Float64Array;
  ch2: Float64Array;
  cross_re?: Float64Array;
  cross_im?: Float64Array;
  /** Hz: enbw x sample rate. */
  rbw: number;
  /** The window's equivalent noise bandwidth sum(w^2)/sum(w)^2, a fraction of the sample rate. */
  enbw: number;
  traces: number;
  /** With cross: the unit of cross_re/cross_im (Vpk^2, Vrms^2 or Vrms^2/Hz). */
  cross_unit?: string;
}
export class Specan extends Instrument<Spectrum> {
  single(settings?: SpecanSettings, options?: RequestOptions): Promise<Spectrum>;
}

/** t0 + i*dt for each sample of a scope trace, in seconds. */
export function timeAxis(trace: ScopeTrace): Float64Array;

export const CANCEL_GRACE: number;
export const MAX_IN_FLIGHT: number;

export const DTYPES: { "<f4": Float32ArrayConstructor; "<f8": Float64ArrayConstructor; "<u4": Uint32ArrayConstructor };
export function encode(value: unknown): Uint8Array;
export function decode(data: Uint8Array): any;
export function typedArray(m: { dtype: string; shape?: number[]; data: Uint8Array }): Float32Array | Float64Array | Uint32Array;

export function scopeTimeout(s?: ScopeSettings): number;
export function naTimeout(s?: NASettings): number;
export function specanTimeout(s?: SpecanSettings): number;
export function txnTimeout(ops?: Op[]): number;

export * from "./curves.js";
