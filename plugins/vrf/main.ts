import { about, pluginMain } from '../../pkg/skel/index.js';

// from 0.3.1, as the reference: a chained plugin needs a prevResult
pluginMain(() => import('./vrf.js'), ['0.3.1', '0.4.0', '1.0.0', '1.1.0'], about('vrf'));
