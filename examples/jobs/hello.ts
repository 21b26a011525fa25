/** Example jobs for the README tour. */
import { Job } from '../../src/index.ts';

export class Hello extends Job<[name: string]> {
  async perform(name: string) {
    return `hello ${name} from ${this.queue}`;
  }
}

export function add(a: number, b: number) {
  return a + b;
}
