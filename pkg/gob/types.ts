// Gob types: the schema our encoder describes values with, and the wireType
// definitions a decoder reads from the stream (encoding/gob "Encoding Details").

/** A predeclared gob type; ids 1-8 are known to both ends a priori. */
export interface BuiltinType {
  readonly kind: 'bool' | 'int' | 'uint' | 'float' | 'bytes' | 'string' | 'complex' | 'interface';
}

export interface FieldDef {
  /** The Go field name: gob matches fields by name. */
  name: string;
  type: GobType;
  /**
   * A Go pointer field (`*int`): nil (undefined) is omitted, but a present zero is sent. Go's own
   * encoder drops a pointer to zero like any zero value; its decoder reads the explicit zero into a
   * non-nil pointer, so the value survives (e.g. IPConfig.Interface = 0).
   */
  pointer?: boolean;
}

export interface StructType {
  kind: 'struct';
  /** What Go calls it on the wire: the type's name, or '' for anonymous structs and structs reached through `[]*T`. */
  name: string;
  fields: FieldDef[];
}

export interface SliceType {
  kind: 'slice';
  name: string;
  elem: GobType;
}

export interface ArrayType {
  kind: 'array';
  name: string;
  elem: GobType;
  len: number;
}

export interface MapType {
  kind: 'map';
  name: string;
  key: GobType;
  elem: GobType;
}

/** A type Go encodes through GobEncode / MarshalBinary / MarshalText: its bytes, as a byte string. */
export interface MarshalerType {
  kind: 'gobEncoder' | 'binaryMarshaler' | 'textMarshaler';
  name: string;
}

export type GobType = BuiltinType | StructType | SliceType | ArrayType | MapType | MarshalerType;

export const gobBool: BuiltinType = { kind: 'bool' };
export const gobInt: BuiltinType = { kind: 'int' };
export const gobUint: BuiltinType = { kind: 'uint' };
export const gobFloat: BuiltinType = { kind: 'float' };
export const gobBytes: BuiltinType = { kind: 'bytes' };
export const gobString: BuiltinType = { kind: 'string' };
export const gobComplex: BuiltinType = { kind: 'complex' };
export const gobInterface: BuiltinType = { kind: 'interface' };

/** The ids of the predeclared types. */
export const BUILTIN_IDS: Readonly<Record<BuiltinType['kind'], number>> = {
  bool: 1,
  int: 2,
  uint: 3,
  float: 4,
  bytes: 5,
  string: 6,
  complex: 7,
  interface: 8,
};

/** Ids reserved for gob's own wireType machinery (16-23); never defined by a stream. */
export const FIRST_WIRE_MACHINERY_ID = 16;
export const LAST_WIRE_MACHINERY_ID = 23;
/** Go hands out user type ids from 65 (0-64 reserved). */
export const FIRST_USER_ID = 65;

/** The variants of wireType, in field order (ArrayT=0 ... TextMarshalerT=6). */
export const WIRE_VARIANTS = ['array', 'slice', 'struct', 'map', 'gobEncoder', 'binaryMarshaler', 'textMarshaler'] as const;

/** A type as the sending side defined it on the stream. */
export type WireType =
  | { kind: 'struct'; name: string; id: number; fields: { name: string; id: number }[] }
  | { kind: 'slice'; name: string; id: number; elem: number }
  | { kind: 'array'; name: string; id: number; elem: number; len: number }
  | { kind: 'map'; name: string; id: number; key: number; elem: number }
  | { kind: 'gobEncoder' | 'binaryMarshaler' | 'textMarshaler'; name: string; id: number };

/** True for a builtin value type id (1-8). */
export function isBuiltinId(id: number): boolean {
  return id >= 1 && id <= 8;
}
