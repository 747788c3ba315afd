export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const noop = (): void => {};

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Writes warnings and errors to stderr; pass `verbose` to see debug and info too. */
export function consoleLogger({ verbose = false } = {}): Logger {
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    console.error(`[spear-comm] ${level} ${message}${fields ? ' ' + JSON.stringify(fields) : ''}`);
  return { debug: verbose ? write('debug') : noop, info: verbose ? write('info') : noop, warn: write('warn'), error: write('error') };
}
