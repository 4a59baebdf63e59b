import { runComponent } from '../process/child-component.js';
import type { AppConfig } from './app-config.js';
import { startApp } from './app-server.js';

runComponent<AppConfig>(startApp);
