// Go's encoding/gob (enough for net/rpc), and net/rpc over HTTP CONNECT.
export { Decoder, GobFramingError, type Decoded, type DecoderOptions, type GobInterfaceValue } from './decoder.js';
export { Encoder } from './encoder.js';
export * from './types.js';
export { GobError, Reader, Writer } from './wire.js';
