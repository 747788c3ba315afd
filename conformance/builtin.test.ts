import { createKernel } from 'spear-comm';
import { runConformance } from 'spear-comm/conformance';

// Every built-in transport that is installed must pass the whole kit.
const kernel = await createKernel();
const installed = kernel.transports();
await kernel.close();

for (const transport of installed) await runConformance({ transport });
