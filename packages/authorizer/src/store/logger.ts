/** Minimal structured logger for the store adapters; pino fits. Adapters never log to the console. */
export interface StoreLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Drops everything; the default logger. */
export const silentStoreLogger: StoreLogger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });
