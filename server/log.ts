/**
 * Logging: one line per event with time, level and component, to standard output or `logfile`.
 *
 * @module
 */

/** Log levels, as Redis names them. */
export type LogLevel = "debug" | "verbose" | "notice" | "warning" | "nothing";

const RANK: Record<LogLevel, number> = { debug: 0, verbose: 1, notice: 2, warning: 3, nothing: 4 };

/** Writes log lines at or above its level. */
export class Logger {
  private file: Deno.FsFile | null = null;
  private readonly enc = new TextEncoder();

  constructor(public level: LogLevel = "notice", logfile = "") {
    if (logfile) {
      this.file = Deno.openSync(logfile, { append: true, create: true });
    }
  }

  private write(level: LogLevel, component: string, message: string): void {
    if (RANK[level] < RANK[this.level]) return;
    const line = `${new Date().toISOString()} ${level} [${component}] ${message}\n`;
    if (this.file) this.file.writeSync(this.enc.encode(line));
    else if (level === "warning") console.error(line.trimEnd());
    else console.log(line.trimEnd());
  }

  debug(component: string, message: string): void {
    this.write("debug", component, message);
  }
  verbose(component: string, message: string): void {
    this.write("verbose", component, message);
  }
  notice(component: string, message: string): void {
    this.write("notice", component, message);
  }
  warning(component: string, message: string): void {
    this.write("warning", component, message);
  }

  close(): void {
    this.file?.close();
    this.file = null;
  }
}
