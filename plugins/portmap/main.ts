import { about, pluginMain } from '../../pkg/skel/index.js';

pluginMain(() => import('./portmap.js'), undefined, about('portmap'));
