// `resolvConf`: the DNS part of a host-local result, read from a resolv.conf
// the way the reference reads it (nameserver, domain, search, options lines).
import { readFileSync } from '../../native/fs.js';
import { invalidConfig } from '../../types/error.js';
import type { DNS } from '../../types/result.js';

/** Parses resolv.conf text; comment lines (`#`, `;`) and short lines are skipped. */
export function parseResolvConf(text: string): DNS {
  const dns: DNS = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    const f = line.split(/\s+/);
    if (f.length < 2) continue;
    switch (f[0]) {
      case 'nameserver':
        (dns.nameservers ??= []).push(f[1]);
        break;
      case 'domain':
        dns.domain = f[1];
        break;
      case 'search':
        (dns.search ??= []).push(...f.slice(1));
        break;
      case 'options':
        (dns.options ??= []).push(...f.slice(1));
        break;
    }
  }
  return dns;
}

/** Reads `ipam.resolvConf`; an unreadable file is a configuration error (code 7). */
export function readResolvConf(file: string): DNS {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw invalidConfig('ipam.resolvConf', `cannot read ${JSON.stringify(file)}: ${(e as Error).message}`);
  }
  return parseResolvConf(text);
}
