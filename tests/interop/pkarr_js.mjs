// SPDX-License-Identifier: BSD-3-Clause
// The JS pkarr package (npm "pkarr") as a relay client and relay server,
// driven by tests/interop/test_interop_relay.py. NODE_PATH-free: run
// from a directory whose node_modules holds pkarr.
//   put RELAY SEEDHEX IP     relayPut of "@ A IP" signed with the seed;
//                            prints {"status", "key", "seq"}
//   get RELAY KEY            relayGet; prints {"seq", "a": [...]} or
//                            {"error"}
//   relay PORT DIR HOST:PORT...  pkarr's relay server on 127.0.0.1:PORT,
//                            its DHT bootstrapped from the given nodes
//                            (routing table file in DIR); prints
//                            "ready" and serves until killed
import { Pkarr, SignedPacket, z32 } from 'pkarr'
import Server from 'pkarr/lib/relay.js'
import DHT from 'pkarr/lib/dht.js'

const [cmd, ...args] = process.argv.slice(2)

function out (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

if (cmd === 'put') {
  const [relay, seedHex, ip] = args
  const keypair = Pkarr.generateKeyPair(Buffer.from(seedHex, 'hex'))
  const packet = {
    id: 0,
    type: 'response',
    flags: 0,
    answers: [{ name: '@', type: 'A', class: 'IN', ttl: 300, data: ip }]
  }
  const sp = SignedPacket.fromPacket(keypair, packet)
  const res = await Pkarr.relayPut(relay, sp)
  out({ status: res.status, key: z32.encode(keypair.publicKey), seq: sp.timestamp() })
} else if (cmd === 'get') {
  const [relay, key] = args
  try {
    const sp = await Pkarr.relayGet(relay, z32.decode(key))
    const a = sp.packet().answers.filter(r => r.type === 'A').map(r => r.data)
    out({ seq: sp.timestamp(), a })
  } catch (e) {
    out({ error: String(e && e.message ? e.message : e) })
  }
} else if (cmd === 'relay') {
  const [port, dir, ...boot] = args
  const bootstrap = boot.map(hp => {
    const i = hp.lastIndexOf(':')
    return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) }
  })
  const dht = new DHT({ bootstrap, storageLocation: dir })
  await Server.start({ dht, port: Number(port) })
  out({ ready: true })
} else {
  process.stderr.write('usage: pkarr_js.mjs put|get|relay ...\n')
  process.exit(2)
}
