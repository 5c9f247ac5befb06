// Builds the live page into a web root that `xiaoxiang serve --web-root DIR`
// serves: index.html, style.css, app.js (src/ bundled with esbuild, with
// sockjs-client and @stomp/stompjs from node_modules) and
// vendor/sockjs.min.js, the same sockjs-client that the server's SockJS
// iframe page loads (its sockjs_url), so that the iframe transports speak
// the version the page bundles. Nothing comes from a CDN.
//
// usage: node build.mjs --out DIR [--modules DIR]
//   --modules DIR  where node_modules is (default: beside this file); the
//                  CMake build installs the packages in the build tree.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  if (i + 1 >= args.length) throw new Error(`${name} needs a value`);
  return args[i + 1];
};
if (args.includes('--help')) {
  console.log('usage: node build.mjs --out DIR [--modules DIR]');
  process.exit(0);
}
const out = resolve(arg('--out', join(here, 'dist')));
const modules = resolve(arg('--modules', join(here, 'node_modules')));
// The packages live in the build tree, not beside this file: load them from there.
const require = createRequire(join(modules, 'package.json'));
const { build } = require('esbuild');

const sockjsPackage = require('sockjs-client/package.json');
mkdirSync(join(out, 'vendor'), { recursive: true });

await build({
  entryPoints: [join(here, 'src', 'main.js')],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  nodePaths: [modules],
  // sockjs-client is written for browserify: its node drivers are replaced
  // by the browser ones through its package.json "browser" field; `global`
  // is the only Node global it still names.
  define: { global: 'globalThis' },
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});

for (const file of ['index.html', 'style.css']) {
  copyFileSync(join(here, 'src', file), join(out, file));
}
const sockjsMin = require.resolve('sockjs-client/dist/sockjs.min.js');
copyFileSync(sockjsMin, join(out, 'vendor', 'sockjs.min.js'));

const size = readFileSync(join(out, 'app.js')).length;
console.log(`web: ${out} (app.js ${(size / 1024).toFixed(0)} KiB, sockjs-client ${sockjsPackage.version})`);
