// Child for the harness test: builds a fleet, prints its id, then either exits without
// destroy() or waits for a signal, so the test can check the last-resort exit hook.

import { createFleet } from './netns.js';

const fleet = await createFleet({ prefix: 'mrx', count: 1 });
fleet.machines[0]?.spawn(['sleep', '600']);
process.stdout.write(`${fleet.id}\n`);
if (process.argv.includes('--exit')) process.exit(0);
setInterval(() => undefined, 1000);
