// iptables-save output as the iptables firewall code reads it: chains and rule
// lines of one table, in the canonical text CHECK and DEL compare against.

/** One table of iptables-save output. */
export interface SavedTable {
  chains: Set<string>;
  /** Rule lines as printed (`-A CHAIN ...`), in order. */
  rules: Array<{ chain: string; text: string }>;
}

/** Parses the first `*table` section of iptables-save output (empty when the table does not exist). */
export function parseSave(text: string): SavedTable {
  const out: SavedTable = { chains: new Set(), rules: [] };
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) out.chains.add(line.slice(1).split(' ')[0]);
    else if (line.startsWith('-A ')) out.rules.push({ chain: line.split(' ')[1], text: line });
    else if (line === 'COMMIT') break;
  }
  return out;
}

/** The jump target of a saved rule (`-j X`), or undefined. */
export function ruleTarget(text: string): string | undefined {
  const all = [...text.matchAll(/ -j (\S+)/g)];
  return all.length ? all[all.length - 1][1] : undefined;
}
