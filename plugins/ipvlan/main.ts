import { about, pluginMain } from '../../pkg/skel/index.js';

pluginMain(() => import('./ipvlan.js'), undefined, about('ipvlan'));
