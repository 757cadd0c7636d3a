import { readFile } from 'node:fs/promises';

/** The last `lines` lines of a log file, or a note that it is empty/missing. */
export async function tailOf(path: string, lines = 8): Promise<string> {
  try {
    const text = (await readFile(path, 'utf8')).trimEnd();
    if (text === '') return `(${path} is empty)`;
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${path})`;
  }
}
