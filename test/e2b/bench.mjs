#!/usr/bin/env node
// Times E2B SDK calls for `make bench` (test/bench/e2b.go), one round per
// run, each figure measured inside Node.js so that its start-up is not
// counted. Connection as for scenario.mjs: the three E2B_ variables.
//
//   node bench.mjs roundtrip               Sandbox.create() + commands.run('true') + kill()
//   node bench.mjs sandbox                 create a sandbox, print its id, keep it
//   node bench.mjs files --sandbox ID --bytes N
//                                          files.write then files.read of N random bytes
//   node bench.mjs kill --sandbox ID
//
// Each prints one JSON line per figure, {"figure", "ms"}, or {"error"}
// and exits 1.
import { randomBytes } from 'node:crypto'
import { Sandbox, describe, missingVars, slowCallMs } from './lib.mjs'

const benchFile = '/root/e2b-bench.bin'

function emit(fields) {
  process.stdout.write(JSON.stringify(fields) + '\n')
}

async function timed(figure, fn) {
  const start = performance.now()
  const v = await fn()
  emit({ figure, ms: performance.now() - start })
  return v
}

const verbs = {
  async roundtrip() {
    await timed('create+run+kill', async () => {
      const sbx = await Sandbox.create({ requestTimeoutMs: slowCallMs })
      await sbx.commands.run('true')
      await sbx.kill()
    })
  },
  async sandbox() {
    const sbx = await Sandbox.create({ requestTimeoutMs: slowCallMs, metadata: { purpose: 'bench' } })
    emit({ sandboxId: sbx.sandboxId })
  },
  async files({ sandboxId, bytes }) {
    const sbx = await Sandbox.connect(sandboxId, { requestTimeoutMs: slowCallMs })
    const data = randomBytes(bytes)
    const buf = data.buffer.slice(data.byteOffset, data.byteOffset + data.length)
    await timed('files.write', () => sbx.files.write(benchFile, buf, { requestTimeoutMs: slowCallMs }))
    const back = await timed('files.read', () => sbx.files.read(benchFile, { format: 'bytes', requestTimeoutMs: slowCallMs }))
    if (!Buffer.from(back).equals(data)) throw new Error(`files.read gave ${back.length} bytes that differ from the ${bytes} written`)
  },
  async kill({ sandboxId }) {
    await Sandbox.kill(sandboxId, { requestTimeoutMs: slowCallMs })
  },
}

function parse(argv) {
  const opts = { verb: argv[0], bytes: 10 << 20 }
  for (let i = 1; i < argv.length; i += 2) {
    if (argv[i] === '--sandbox') opts.sandboxId = argv[i + 1]
    else if (argv[i] === '--bytes') opts.bytes = Number(argv[i + 1])
    else throw new Error(`unknown argument ${argv[i]}`)
  }
  if (!verbs[opts.verb]) throw new Error(`usage: node bench.mjs ${Object.keys(verbs).join('|')} [--sandbox ID] [--bytes N]`)
  if (['files', 'kill'].includes(opts.verb) && !opts.sandboxId) throw new Error(`${opts.verb} needs --sandbox ID`)
  return opts
}

try {
  const missing = missingVars()
  if (missing.length) throw new Error(`${missing.join(', ')} not set: \`eval "$(banger e2b env)"\` sets them`)
  const opts = parse(process.argv.slice(2))
  await verbs[opts.verb](opts)
  process.exit(0)
} catch (err) {
  emit({ error: describe(err) })
  process.exit(1)
}
