export const OBSERVE_VERSION = '0.1.0';
