// Two builds of the web app compared on the time budgets' two measures
// (first offer on /marketplace, the checkout's first image choice, taken as
// bench/budgets.mjs takes them: bench/page_timing.mjs), their
// loads interleaved so that this shared machine's drift falls on both:
// three rounds each, eight fresh loads of each page per round, cache
// disabled, the release server with the demo market. Run by
// `bench/budgets.sh compare DIST_A DIST_B`, where each is a copy of dist/
// made after a `make build`; dist/ itself is put back at the end.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT, apiRequest, launchBrowser, startDemoMarket } from '../e2e/harness.mjs';
import { countedPage, median, shownAt } from './page_timing.mjs';

const builds = process.argv.slice(2).map((dir) => resolve(dir));
if (builds.length !== 2 || builds.includes(join(ROOT, 'dist'))) {
  // dist/ itself is replaced during the run: compare copies of it.
  console.error('usage: bench/budgets.sh compare DIST_A DIST_B (copies of dist/, not dist/ itself)');
  process.exit(2);
}

const saved = join(mkdtempSync(join(tmpdir(), 'sparecloud-dist-')), 'dist');
cpSync(join(ROOT, 'dist'), saved, { recursive: true });
const times = builds.map(() => ({ marketplace: [], checkout: [] }));
try {
  for (let round = 0; round < 6; round++) {
    const which = round % 2;
    rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
    cpSync(builds[which], join(ROOT, 'dist'), { recursive: true });
    const server = await startDemoMarket();
    const browser = await launchBrowser();
    try {
      const base = server.baseURL;
      const offerId = (await apiRequest(base, 'GET', '/offers?per_page=1')).items[0].id;
      // As bench/budgets.mjs measures them, each on a fresh page.
      const time = async (path, role, name) => {
        const { context, page } = await countedPage(browser);
        try {
          return await shownAt(page, `${base}${path}`, role, name);
        } finally {
          await context.close();
        }
      };
      await time('/marketplace', 'link', /^View offer$/); // warms the server
      for (let i = 0; i < 8; i++) {
        times[which].marketplace.push(await time('/marketplace', 'link', /^View offer$/));
        times[which].checkout.push(await time(`/checkout/${offerId}`, 'radio', /Debian 12/));
      }
    } finally {
      await browser.close();
      await server.stop();
    }
  }
} finally {
  rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
  cpSync(saved, join(ROOT, 'dist'), { recursive: true });
  rmSync(resolve(saved, '..'), { recursive: true, force: true });
}
builds.forEach((dir, i) => {
  const { marketplace, checkout } = times[i];
  console.log(`${dir}: first offer median ${median(marketplace).toFixed(0)} ms, checkout first step median ${median(checkout).toFixed(0)} ms (${marketplace.length} loads each)`);
});
