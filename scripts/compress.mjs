// Precompressed copies of the built app's wasm, js, css, html and svg files,
// which the server sends by Accept-Encoding: `FILE.br` (brotli, maximum
// quality and window) and `FILE.gz` (gzip made by Zopfli, a valid gzip
// stream 4–5 % smaller than `gzip -9`'s, for browsers without brotli). Made
// once at build time, so no request pays for compression. (Debian's image
// has no brotli command; node's zlib has brotli built in.)
// Usage: node scripts/compress.mjs DIR
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { gzipAsync } from '@gfx/zopfli';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/compress.mjs DIR');
  process.exit(2);
}

function* files(path) {
  for (const name of readdirSync(path)) {
    const full = join(path, name);
    if (statSync(full).isDirectory()) yield* files(full);
    else if (/\.(wasm|js|css|html|svg)$/.test(name)) yield full;
  }
}

for (const file of files(dir)) {
  const data = readFileSync(file);
  writeFileSync(
    `${file}.br`,
    brotliCompressSync(data, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_LGWIN]: constants.BROTLI_MAX_WINDOW_BITS,
        [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      },
    }),
  );
  // Zopfli's default of 15 iterations: more gain a few bytes and cost seconds.
  writeFileSync(`${file}.gz`, await gzipAsync(data, { numiterations: 15 }));
}
