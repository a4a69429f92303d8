import { about, pluginMain } from '../../pkg/skel/index.js';

pluginMain(() => import('./macvlan.js'), undefined, about('macvlan'));
