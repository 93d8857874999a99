// End-to-end: the real bee-js client talks to a caddy-bee gateway (started by the Go test
// TestBeeJSEndToEnd, which sets GATEWAY_URL and ADMIN_TOKEN) in front of the Bee simulator.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Bee, NULL_STAMP } from '@ethersphere/bee-js'

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
