export const CHAOS_VERSION = '0.1.0';
