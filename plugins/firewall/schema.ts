// firewall's configuration keys (reference §7.1).
// Schemas only: the build replaces this module by the JSON Schema it evaluates to
// (pkg/types/conf.ts checks configurations without TypeBox at run time).
import { Type } from '@sinclair/typebox';
import { NetConfFields } from '../../pkg/types/schema.js';

export const FirewallSchema = Type.Object({
  ...NetConfFields,
  // any other string, "" included, means auto-detect (firewalld when it owns its D-Bus name, else iptables)
  backend: Type.Optional(Type.String()),
  iptablesAdminChainName: Type.Optional(Type.String()),
  firewalldZone: Type.Optional(Type.String()),
  ingressPolicy: Type.Optional(Type.Union([Type.Literal(''), Type.Literal('open'), Type.Literal('same-bridge'), Type.Literal('isolated')])),
  // ours: where ADD records each attachment's IPs, for DEL without prevResult and for GC
  dataDir: Type.Optional(Type.String()),
});
