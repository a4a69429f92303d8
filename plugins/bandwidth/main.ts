import { about, pluginMain } from '../../pkg/skel/index.js';

pluginMain(() => import('./bandwidth.js'), undefined, about('bandwidth'));
