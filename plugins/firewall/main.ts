import { about, pluginMain } from '../../pkg/skel/index.js';

pluginMain(() => import('./firewall.js'), undefined, about('firewall'));
