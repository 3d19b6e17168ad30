// `make run`'s demo partner portal: serves demo/partner/index.html on its
// own origin (another port), pointing its embed at the Sparecloud server.
//   node scripts/partner-demo.mjs [--port 8081] [--sparecloud http://127.0.0.1:8080]
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.SPARECLOUD_PARTNER_PORT ?? '8081' },
    sparecloud: { type: 'string', default: process.env.SPARECLOUD_PUBLIC_URL ?? 'http://127.0.0.1:8080' },
  },
});
const page = readFileSync(new URL('../demo/partner/index.html', import.meta.url), 'utf8')
  .replaceAll('{{SPARECLOUD_URL}}', values.sparecloud.replace(/\/$/, ''));

const server = createServer((request, response) => {
  if (request.url === '/' || request.url === '/index.html') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(page);
  } else {
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('Not found');
  }
});
server.listen(Number(values.port), '127.0.0.1', () => {
  console.log(`Demo partner portal on http://127.0.0.1:${values.port} (embedding ${values.sparecloud})`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
