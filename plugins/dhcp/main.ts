import { about, pluginMain } from '../../pkg/skel/index.js';

// `dhcp daemon ...` is the long-running lease keeper; anything else is the IPAM plugin (CNI_COMMAND).
if (process.argv[2] === 'daemon') void import('./daemon.js').then((d) => d.daemonMain(process.argv.slice(3)));
else pluginMain(() => import('./plugin.js'), undefined, about('dhcp'));
