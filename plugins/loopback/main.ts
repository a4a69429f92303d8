import { about, pluginMain } from '../../pkg/skel/index.js';

pluginMain(() => import('./loopback.js'), undefined, about('loopback'));
