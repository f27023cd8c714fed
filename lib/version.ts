// The one version string: agents report it in heartbeats and the CLI prints it.
export const VERSION = '0.1.0';
