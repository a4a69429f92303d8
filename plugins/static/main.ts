import { about, pluginMain } from '../../pkg/skel/index.js';

pluginMain(() => import('./static.js'), undefined, about('static'));
