/**
 * `resque-worker config check [--config F]`: validate as `start` does (the schema, then the pool's
 * own checks), then print the effective config, secrets redacted.
 */
import { loadConfig, redactConfig } from '../config/load-config.ts';
import { checkPoolConfig } from '../supervisor/pool-config.ts';
import { configFile, overridesFrom, parseCommon } from './args.ts';

export async function configCheck(argv: string[]): Promise<number> {
  const { values } = parseCommon(argv);
  const config = loadConfig({ file: configFile(values), overrides: overridesFrom(values) });
  checkPoolConfig(config);
  console.log(JSON.stringify(redactConfig(config), null, 2));
  return 0;
}
