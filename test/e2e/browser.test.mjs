// Browser end-to-end: bee-js's browser bundle, in headless Chromium, on a page served from
// another origin than the gateway's, does what a dapp does through caddy-bee (started by the
// Go test TestBrowserEndToEnd, which sets GATEWAY_URL and CHROMIUM). Every request crosses
// origins, so CORS preflights, Access-Control-Allow-Origin and the exposed headers are
// exercised by a real browser.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { existsSync } from 'node:fs'
import puppeteer from 'puppeteer-core'
import { build } from 'esbuild'

const gatewayURL = process.env.GATEWAY_URL
const chromium = process.env.CHROMIUM || '/usr/bin/chromium'
if (!gatewayURL) {
  throw new Error('GATEWAY_URL must be set; run this through `make browser-test`')
}
const here = dirname(fileURLToPath(import.meta.url))
const beeJsDist = join(here, 'node_modules', '@ethersphere', 'bee-js', 'dist')

// The dapp's origin: a loopback server on another port than the gateway's.
const files = {
  '/': [join(here, 'browser', 'index.html'), 'text/html; charset=utf-8'],
  '/bee-js/index.browser.min.js': [join(beeJsDist, 'index.browser.min.js'), 'text/javascript; charset=utf-8'],
  '/bee-js/index.browser.min.js.map': [join(beeJsDist, 'index.browser.min.js.map'), 'application/json'],
  '/favicon.ico': null, // 204: no console noise
}

// bee-js's prebuilt browser bundle (dist/index.browser.min.js, window.BeeJs) is built from
// its Node sources and cannot upload a collection ("PassThrough is not a constructor": its
// tar writer is Node's), nor can a dapp's bundle of bee-js 12.1.0, whose package.json
// "browser" field misses the tar files (12.2.0 adds tar.js; the npm registry here cannot
// install 12.2+). So, for the collection upload, this test bundles bee-js as a dapp's build
// does (esbuild, platform browser, honouring the "browser" field) and points the tar upload
// at bee-js's own tar*.browser.js files.
const browserTarFiles = new Set(['tar.js', 'tar-writer.js', 'tar-uploader.js'])
const preferBrowserFiles = {
  name: 'bee-js-browser-tar',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\/.*tar[a-z-]*\.js$/ }, args => {
      const target = join(args.resolveDir, args.path)
      if (!target.startsWith(beeJsDist) || !browserTarFiles.has(basename(target))) return undefined
      const variant = target.replace(/\.js$/, '.browser.js')
      return existsSync(variant) ? { path: variant } : undefined
    })
  },
}
async function bundleBeeJs() {
  const out = await build({
    stdin: { contents: "export * from '@ethersphere/bee-js'", resolveDir: here, loader: 'js' },
    bundle: true, platform: 'browser', format: 'iife', globalName: 'BeeJsBundled',
    write: false, logLevel: 'error', plugins: [preferBrowserFiles],
  })
  return out.outputFiles[0].contents
}
let pageServer, pageURL, browser, page, profile
const problems = [] // failed requests and console errors, shown when a step fails

before(async () => {
  const bundled = await bundleBeeJs()
  pageServer = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname
    if (path === '/bee-js-bundled.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(bundled)
      return
    }
    const file = files[path]
    if (file === null) {
      res.writeHead(204).end()
      return
    }
    if (!file) {
      res.writeHead(404).end('not found')
      return
    }
    res.writeHead(200, { 'Content-Type': file[1] }).end(await readFile(file[0]))
  })
  await new Promise(resolve => pageServer.listen(0, '127.0.0.1', resolve))
  pageURL = `http://127.0.0.1:${pageServer.address().port}/`
  assert.notEqual(new URL(pageURL).origin, new URL(gatewayURL).origin, 'the page must be cross-origin')

  profile = await mkdtemp(join(tmpdir(), 'caddy-bee-chromium-'))
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir: profile,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  page = await browser.newPage()
  page.on('console', msg => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`) })
  page.on('requestfailed', req => problems.push(`failed: ${req.method()} ${req.url()} ${req.failure()?.errorText}`))
  page.on('pageerror', err => problems.push(`page error: ${err.message}`))
  await page.goto(pageURL, { waitUntil: 'load' })
  assert.equal(await page.evaluate(() => typeof window.BeeJs?.Bee), 'function', 'bee-js bundle did not load')
  assert.equal(await page.evaluate(() => typeof window.BeeJsBundled?.Bee), 'function', 'bundled bee-js did not load')
})

after(async () => {
  await browser?.close()
  await new Promise(resolve => (pageServer ? pageServer.close(resolve) : resolve()))
  if (profile) await rm(profile, { recursive: true, force: true })
})

// inPage runs fn(gatewayURL, arg) in the page, where window.BeeJs is bee-js.
async function inPage(fn, arg) {
  try {
    return await page.evaluate(fn, gatewayURL, arg)
  } catch (e) {
    throw new Error(`${e.message}\nbrowser saw:\n${problems.join('\n')}`)
  }
}

test('the page runs on another origin than the gateway', async () => {
  const origin = await page.evaluate(() => window.location.origin)
  assert.notEqual(origin, new URL(gatewayURL).origin)
})

test('isGateway() and checkConnection()', async () => {
  const r = await inPage(async url => {
    const bee = new window.BeeJs.Bee(url)
    const isGateway = await bee.isGateway()
    await bee.checkConnection() // throws unless GET / answers
    return { isGateway, connected: await bee.isConnected() }
  })
  assert.deepEqual(r, { isGateway: true, connected: true })
})

test('uploadData with the all-zero stamp downloads back byte for byte', async () => {
  const r = await inPage(async url => {
    const { Bee, NULL_STAMP } = window.BeeJs
    const bee = new Bee(url)
    const data = crypto.getRandomValues(new Uint8Array(65536))
    const up = await bee.uploadData(NULL_STAMP, data)
    const back = (await bee.downloadData(up.reference)).toUint8Array()
    return {
      reference: up.reference.toHex(),
      tag: up.tagUid, // read from Swarm-Tag, an exposed header
      same: back.length === data.length && back.every((b, i) => b === data[i]),
    }
  })
  assert.match(r.reference, /^[0-9a-f]{64}$/)
  assert.ok(r.tag > 0, 'Swarm-Tag not readable: not exposed?')
  assert.equal(r.same, true)
})

test('uploadFile with the all-zero stamp downloads back with its name and type', async () => {
  const r = await inPage(async url => {
    const { Bee, NULL_STAMP } = window.BeeJs
    const bee = new Bee(url)
    const content = 'hello from a browser through caddy-bee ' + crypto.randomUUID()
    const file = new File([content], 'hello.txt', { type: 'text/plain' })
    const up = await bee.uploadFile(NULL_STAMP, file)
    const back = await bee.downloadFile(up.reference) // name from Content-Disposition, an exposed header
    return { content, name: back.name, contentType: back.contentType, text: back.data.toUtf8() }
  })
  assert.equal(r.name, 'hello.txt')
  assert.match(r.contentType, /^text\/plain/)
  assert.equal(r.text, r.content)
})

test('uploadFiles (a collection) with the all-zero stamp downloads back every file', async () => {
  const r = await inPage(async url => {
    const { Bee, NULL_STAMP } = window.BeeJsBundled // see bundleBeeJs
    const bee = new Bee(url)
    const index = '<h1>' + crypto.randomUUID() + '</h1>'
    const binary = crypto.getRandomValues(new Uint8Array(10000))
    const files = [
      new File([index], 'index.html', { type: 'text/html' }),
      new File([binary], 'data.bin', { type: 'application/octet-stream' }),
    ]
    const up = await bee.uploadFiles(NULL_STAMP, files, { indexDocument: 'index.html' })
    const page = await bee.downloadFile(up.reference, 'index.html')
    const blob = (await bee.downloadFile(up.reference, 'data.bin')).data.toUint8Array()
    return {
      indexSame: page.data.toUtf8() === index,
      indexName: page.name,
      binarySame: blob.length === binary.length && blob.every((b, i) => b === binary[i]),
    }
  })
  assert.deepEqual(r, { indexSame: true, indexName: 'index.html', binarySame: true })
})

test('a feed update written with a signer reads back', async () => {
  const r = await inPage(async url => {
    const { Bee, NULL_STAMP, PrivateKey, Topic } = window.BeeJs
    const bee = new Bee(url)
    const signer = new PrivateKey(crypto.getRandomValues(new Uint8Array(32)))
    const topic = Topic.fromString('caddy-bee browser test ' + crypto.randomUUID())
    const payload = 'feed update ' + crypto.randomUUID()
    await bee.makeFeedWriter(topic, signer).uploadPayload(NULL_STAMP, payload)
    const update = await bee.makeFeedReader(topic, signer.publicKey().address()).downloadPayload()
    return {
      payload,
      got: update.payload.toUtf8(),
      index: update.feedIndex.toBigInt().toString(), // Swarm-Feed-Index, an exposed header
      next: update.feedIndexNext.toBigInt().toString(),
    }
  })
  assert.equal(r.got, r.payload)
  assert.equal(r.index, '0')
  assert.equal(r.next, '1')
})
