#!/usr/bin/env node
// Entry point: registers tsx so the daemon and users' job modules run from .ts with no build step.
// It lives in plain JS so it works whatever the working directory (systemd units, node:cluster forks).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
