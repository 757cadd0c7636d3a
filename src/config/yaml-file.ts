// Reads one YAML configuration file; errors name the file (exit code 2 through MargayError).
import { parse as parseYaml } from 'yaml';
import { MargayError } from '../errors.ts';
import { readRegularFile } from './regular-file.ts';

export async function readYamlFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readRegularFile(path);
  } catch (err) {
    throw new MargayError('MARGAY_ERR_CONFIG_READ', `${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new MargayError('MARGAY_ERR_CONFIG', `${path}: not valid YAML: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
