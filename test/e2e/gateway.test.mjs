// End-to-end: the real bee-js client talks to a caddy-bee gateway (started by the Go test
// TestBeeJSEndToEnd, which sets GATEWAY_URL and ADMIN_TOKEN) in front of the Bee simulator.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Bee, Identifier, NULL_STAMP, PrivateKey, Topic } from '@ethersphere/bee-js'

const gatewayURL = process.env.GATEWAY_URL
const adminToken = process.env.ADMIN_TOKEN
if (!gatewayURL || !adminToken) {
  throw new Error('GATEWAY_URL and ADMIN_TOKEN must be set; run this through `go test ./caddymodule -run TestBeeJSEndToEnd`')
}
const bee = new Bee(gatewayURL)

test('isGateway() is true through the gateway', async () => {
  assert.equal(await bee.isGateway(), true)
})

test('uploadData with NULL_STAMP gets a pool batch and downloads back byte-identical', async () => {
  const data = randomBytes(64 * 1024)
  const { reference } = await bee.uploadData(NULL_STAMP, data)
  assert.match(reference.toHex(), /^[0-9a-f]{64}$/)
  const back = await bee.downloadData(reference)
  assert.deepEqual(Buffer.from(back.toUint8Array()), data)
})

test('uploadFile with NULL_STAMP downloads back with its name and content type', async () => {
  const content = 'hello from bee-js through caddy-bee ' + randomBytes(8).toString('hex')
  const { reference } = await bee.uploadFile(NULL_STAMP, content, 'hello.txt', { contentType: 'text/plain' })
  const file = await bee.downloadFile(reference)
  assert.equal(file.name, 'hello.txt')
  assert.match(file.contentType, /^text\/plain/)
  assert.equal(file.data.toUtf8(), content)
})

test('a batch acquired through the pool API uploads explicitly', async () => {
  const res = await fetch(`${gatewayURL}/api/v1/pool/acquire`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ size: 'small' }),
  })
  assert.equal(res.status, 200, await res.clone().text())
  const body = await res.json()
  assert.equal(body.success, true)
  assert.match(body.batch_id, /^[0-9a-f]{64}$/)
  assert.equal(body.depth, 17)

  const data = randomBytes(4096)
  const { reference } = await bee.uploadData(body.batch_id, data)
  const back = await bee.downloadData(reference)
  assert.deepEqual(Buffer.from(back.toUint8Array()), data)
})

// bee-js signs single-owner chunks and computes addresses itself: the simulator behind the
// gateway must verify those signatures and agree on every address.
test('feeds written with NULL_STAMP read back their latest payload; chunk and SOC addresses agree with bee-js', async () => {
  const key = new PrivateKey(randomBytes(32))
  const topic = Topic.fromString('caddy-bee e2e ' + randomBytes(8).toString('hex'))
  const writer = bee.makeFeedWriter(topic, key)
  await writer.uploadPayload(NULL_STAMP, 'feed payload v1')
  await writer.uploadPayload(NULL_STAMP, 'feed payload v2')
  const reader = bee.makeFeedReader(topic, key.publicKey().address())
  const latest = await reader.downloadPayload()
  assert.equal(latest.payload.toUtf8(), 'feed payload v2')
  assert.equal(latest.feedIndex.toBigInt(), 1n)

  // A payload over one chunk is wrapped as the root chunk of a /bytes upload.
  const big = randomBytes(5000)
  await writer.uploadPayload(NULL_STAMP, big)
  const bigBack = await reader.downloadPayload()
  assert.deepEqual(Buffer.from(bigBack.payload.toUint8Array()), big)

  const chunk = bee.makeContentAddressedChunk('hello chunk ' + randomBytes(4).toString('hex'))
  const uploaded = await bee.uploadChunk(NULL_STAMP, chunk)
  assert.equal(uploaded.reference.toHex(), chunk.address.toHex())

  const id = randomBytes(32)
  const soc = bee.makeSOCWriter(key)
  const socUpload = await soc.upload(NULL_STAMP, id, new TextEncoder().encode('soc payload'))
  const expected = bee.calculateSingleOwnerChunkAddress(new Identifier(id), key.publicKey().address())
  assert.equal(socUpload.reference.toHex(), expected.toHex())
  const socBack = await bee.makeSOCReader(key.publicKey().address()).download(id)
  assert.equal(socBack.payload.toUtf8(), 'soc payload')
})
