// Child for the mesh test: stands in for an agent that creates its interface and then dies,
// so the test can check that wireguard-go outlives it (own session, stdio on /dev/null).

import { wgTool } from '../../agent/wg/wg-tool.js';

const [netns, ifname] = process.argv.slice(2);
if (!netns || !ifname) throw new Error('usage: wg-agent-child NETNS IFNAME');
const created = await wgTool.createInterface(ifname, { netns });
process.stdout.write(`${JSON.stringify(created)}\n`);
setInterval(() => undefined, 1000);
