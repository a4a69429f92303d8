import { about, pluginMain } from '../../pkg/skel/index.js';

pluginMain(() => import('./hostlocal.js'), undefined, about('host-local'));
