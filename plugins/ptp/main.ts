import { about, pluginMain } from '../../pkg/skel/index.js';

pluginMain(() => import('./ptp.js'), undefined, about('ptp'));
