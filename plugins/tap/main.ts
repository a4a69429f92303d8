import { about, pluginMain } from '../../pkg/skel/index.js';

pluginMain(() => import('./tap.js'), undefined, about('tap'));
