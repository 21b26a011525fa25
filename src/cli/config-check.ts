/** `resque-worker config check [--config F]`: validate, then print the effective config, secrets redacted. */
import { loadConfig, redactConfig } from '../config/load-config.ts';
import { configFile, overridesFrom, parseCommon } from './args.ts';

export async function configCheck(argv: string[]): Promise<number> {
  const { values } = parseCommon(argv);
  const config = loadConfig({ file: configFile(values), overrides: overridesFrom(values) });
  console.log(JSON.stringify(redactConfig(config), null, 2));
  return 0;
}
