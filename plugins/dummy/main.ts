import { about, pluginMain } from '../../pkg/skel/index.js';

pluginMain(() => import('./dummy.js'), undefined, about('dummy'));
