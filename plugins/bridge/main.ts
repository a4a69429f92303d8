import { about, pluginMain } from '../../pkg/skel/index.js';

pluginMain(() => import('./bridge.js'), undefined, about('bridge'));
