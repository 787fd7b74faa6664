// SPDX-License-Identifier: BSD-3-Clause
// cold_internet_js.mjs -- the JS pkarr client of bench/cold_internet.sh.
//
// One long-lived DHT of npm pkarr (lib/dht.js: bittorrent-dht underneath,
// what Pkarr.resolve creates for every call) joins the network through
// one bootstrap node; its get() is what Pkarr.resolve runs, and without
// fullLookup it settles on the first verified packet.
//
//   node cold_internet_js.mjs PKARR_NODE_MODULES HOST:PORT STORAGE_DIR
//
// Prints "ready ADDRESS PORT JOIN_MS" once bootstrapped, then serves
// stdin: "get HEX64" prints "ok HEX64 MS" or "FAIL HEX64 MS" (call to the
// first verified packet, or nothing within 10 s); end of input stops it.
import path from 'path'
import readline from 'readline'

const [modules, boot, storage] = process.argv.slice(2)
const { default: DHT } = await import(path.join(modules, 'pkarr', 'lib', 'dht.js'))
const [host, port] = boot.split(':')
const t0 = performance.now()
const dht = new DHT({ bootstrap: [{ host, port: Number(port) }], storageLocation: storage })
const inner = dht._dht

await new Promise((resolve) => {
  inner.listen(0, '127.0.0.1')
  inner.once('ready', resolve)
})
const addr = inner.address()
process.stdout.write(`ready ${addr.address} ${addr.port} ${Math.round(performance.now() - t0)}\n`)

const rl = readline.createInterface({ input: process.stdin })
for await (const line of rl) {
  const m = /^get ([0-9a-f]{64})$/.exec(line.trim())
  if (!m) continue
  const key = Buffer.from(m[1], 'hex')
  const start = performance.now()
  let timer
  const found = await Promise.race([
    dht.get(key).then((v) => !!v, () => false),
    new Promise((resolve) => { timer = setTimeout(() => resolve(false), 10000) })
  ])
  clearTimeout(timer)
  const ms = performance.now() - start
  process.stdout.write(`${found ? 'ok' : 'FAIL'} ${m[1]} ${ms.toFixed(3)}\n`)
}
inner.destroy()
process.exit(0)
