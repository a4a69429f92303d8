import { about, pluginMain } from '../../pkg/skel/index.js';

// `dhcp daemon ...` is the long-running lease keeper; anything else is the IPAM plugin (CNI_COMMAND).
pluginMain(() => import('./plugin.js'), undefined, about('dhcp'), { daemon: () => import('./daemon.js').then((d) => d.daemonMain) });
