/**
 * `resque-worker config check [--config F]`: validate as `start` does (the schema, then the pool's
 * own checks), then print the effective config, secrets redacted.
 */
import { loadConfig, redactConfig } from '../config/load-config.ts';
import { recurringScheduleAsInput } from '../config/recurring-schedule.ts';
import { checkPoolConfig } from '../supervisor/pool-config.ts';
import { configFile, noMorePositionals, overridesFrom, parseCommon } from './args.ts';

export const CONFIG_USAGE = `usage: resque-worker config check [--config FILE]
  Validates the config (file, environment, flags) as start does, then prints it, secrets redacted.
  Exit 78 with the key and the reason when it is invalid.`;

export async function configCheck(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommon(argv);
  noMorePositionals('config check', positionals);
  const config = loadConfig({ file: configFile(values), overrides: overridesFrom(values) });
  checkPoolConfig(config);
  const shown = redactConfig(config);
  const schedule = recurringScheduleAsInput(config.scheduler.schedule);
  console.log(JSON.stringify({ ...shown, scheduler: { ...shown.scheduler, schedule } }, null, 2));
  return 0;
}
