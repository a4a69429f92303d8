import { about, pluginMain } from '../../pkg/skel/index.js';

pluginMain(() => import('./sbr.js'), undefined, about('sbr'));
