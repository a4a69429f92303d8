import { about, pluginMain } from '../../pkg/skel/index.js';

pluginMain(() => import('./hostdevice.js'), undefined, about('host-device'));
