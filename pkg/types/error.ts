// The spec's error codes (SPEC.md "Error" section) plus the Go library's 8 and 999.
export const ErrCode = {
  IncompatibleCNIVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironmentVariables: 4,
  IOFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  InvalidNetNS: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginNotAvailableLimitedConnectivity: 51,
  Internal: 999,
} as const;
export type ErrCodeValue = (typeof ErrCode)[keyof typeof ErrCode] | number;

/** A CNI error: what the plugin prints on stdout as `{cniVersion, code, msg, details}`. */
export class CniError extends Error {
  readonly code: number;
  readonly details: string;
  constructor(code: ErrCodeValue, msg: string, details = '', options?: { cause?: unknown }) {
    super(msg, options);
    this.name = 'CniError';
    this.code = code;
    this.details = details;
  }

  /** The error as the spec's JSON object. */
  toJSON(cniVersion?: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (cniVersion) out.cniVersion = cniVersion;
    out.code = this.code;
    out.msg = this.message;
    if (this.details) out.details = this.details;
    return out;
  }
}

/** Code 7 for a config error, naming the JSON path. */
export function invalidConfig(path: string, reason: string): CniError {
  return new CniError(ErrCode.InvalidNetworkConfig, path ? `${path}: ${reason}` : reason);
}

/** Wraps an unknown failure as `failed to <what>: <cause>`, keeping a CniError's code. */
export function wrapError(what: string, cause: unknown): CniError {
  const msg = cause instanceof Error ? cause.message : String(cause);
  const code = cause instanceof CniError ? cause.code : ErrCode.Internal;
  return new CniError(code, `failed to ${what}: ${msg}`, cause instanceof CniError ? cause.details : '', { cause });
}

/** The errno name of a system error (`EEXIST`, `ENODEV`...), or undefined. */
export function errnoCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}
