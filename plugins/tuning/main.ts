import { about, pluginMain } from '../../pkg/skel/index.js';

pluginMain(() => import('./tuning.js'), undefined, about('tuning'));
