import { about, pluginMain } from '../../pkg/skel/index.js';

pluginMain(() => import('./vlan.js'), undefined, about('vlan'));
