// Shared pieces of the scenarios: how they reach bangerd, how each check
// reports, and small waits. The SDK is imported from its ES module build:
// the package's main entry is CommonJS that requires ES modules, which
// Node.js before 20.19 cannot load.
import http from 'node:http'
import dns from 'node:dns'
import { randomUUID, webcrypto } from 'node:crypto'
import { Sandbox } from 'e2b/dist/index.mjs'

// The SDK signs URLs with the global Web Crypto, which Node.js 18 keeps
// behind a flag.
globalThis.crypto ??= webcrypto

export * from 'e2b/dist/index.mjs'

// The three variables `banger e2b env` prints are the only connection
// settings; nothing else is read from the environment.
export const connectionVars = ['E2B_API_URL', 'E2B_SANDBOX_URL', 'E2B_API_KEY']

// envdPort is the port of the sandbox-side API in E2B's routing.
export const envdPort = 49983

// slowCallMs bounds a call that boots, restores or saves a VM: under
// emulation a cold boot alone takes tens of seconds.
export const slowCallMs = 5 * 60_000

// missingVars names the connection variables that are not set.
export function missingVars() {
  return connectionVars.filter((v) => !process.env[v])
}

// Failure is a check's failure: what was expected against what came.
export class Failure extends Error {
  constructor(message) {
    super(message)
    this.name = 'Failure'
  }
}

// describe turns any thrown value into one line: its class, message and
// the chain of causes (where fetch keeps ECONNREFUSED and the like).
export function describe(err) {
  if (!(err instanceof Error)) return String(err)
  let s = `${err.name}: ${err.message}`
  for (let c = err.cause, depth = 0; c && depth < 4; c = c.cause, depth++) {
    const code = c?.code && !String(c.message).includes(c.code) ? `${c.code} ` : ''
    s += c instanceof Error ? ` <- ${code}${c.message}` : ` <- ${String(c)}`
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET/.test(s)) {
    s += ` (is bangerd serving E2B at E2B_API_URL=${process.env.E2B_API_URL} and E2B_SANDBOX_URL=${process.env.E2B_SANDBOX_URL}? set e2b_listen_addr in banger's config and run \`banger e2b env\`)`
  }
  return s
}

// Reporter prints one JSON line per check on stdout and remembers the
// first failure.
export class Reporter {
  constructor(scenario) {
    this.scenario = scenario
    this.checks = 0
    this.failed = false
  }

  line(fields) {
    process.stdout.write(JSON.stringify({ scenario: this.scenario, ...fields }) + '\n')
  }

  // check runs one named step, bounded by limitMs, and reports it; a
  // failed step ends the scenario by rethrowing.
  async check(name, fn, limitMs = 120_000) {
    const start = Date.now()
    try {
      const details = await withLimit(fn(), limitMs, name)
      this.checks++
      this.line({ check: name, ok: true, ms: Date.now() - start, ...(details ?? {}) })
      return details
    } catch (err) {
      this.failed = true
      this.line({ check: name, ok: false, ms: Date.now() - start, error: describe(err), errorClass: err?.name })
      throw new Reported(err)
    }
  }

  note(text, fields = {}) {
    this.line({ note: text, ...fields })
  }
}

// Reported wraps an error that a check has already printed.
export class Reported extends Error {
  constructor(cause) {
    super(cause?.message ?? String(cause), { cause })
    this.name = 'Reported'
  }
}

// withLimit fails when p takes longer than ms.
export function withLimit(p, ms, what) {
  let timer
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Failure(`${what}: not done within ${ms / 1000}s`)), ms)
  })
  return Promise.race([Promise.resolve(p), limit]).finally(() => clearTimeout(timer))
}

// expect throws a Failure saying what when ok is false.
export function expect(ok, what) {
  if (!ok) throw new Failure(what)
}

// rejects awaits p and returns its error, which must be an instance of
// cls; anything else is a Failure naming what came instead.
export async function rejects(p, cls, what) {
  let value
  try {
    value = await p
  } catch (err) {
    if (err instanceof cls) return err
    throw new Failure(`${what}: want ${cls.name}, got ${describe(err)}`)
  }
  throw new Failure(`${what}: want ${cls.name}, but it succeeded with ${JSON.stringify(value)?.slice(0, 200)}`)
}

// waitFor calls probe until it returns a truthy value, which it returns,
// or fails after limitMs with the last value or error seen.
export async function waitFor(what, probe, limitMs = 30_000, everyMs = 200) {
  const deadline = Date.now() + limitMs
  let last
  for (;;) {
    try {
      const v = await probe()
      if (v) return v
      last = `got ${JSON.stringify(v)}`
    } catch (err) {
      last = describe(err)
    }
    if (Date.now() > deadline) throw new Failure(`${what}: not within ${limitMs / 1000}s (last: ${last})`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

// sandboxHeaders route a hand-made request to a sandbox's port through
// E2B_SANDBOX_URL, as the SDK's own requests are routed.
export function sandboxHeaders(sandboxId, port = envdPort) {
  return { 'E2b-Sandbox-Id': sandboxId, 'E2b-Sandbox-Port': String(port) }
}

// lookupLocalhost resolves every name under .localhost to the loopback
// address (RFC 6761), as browsers do; getHost's PORT-ID.localhost:P
// names need it where the system resolver does not.
function lookupLocalhost(hostname, options, callback) {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) {
    if (options?.all) return callback(null, [{ address: '127.0.0.1', family: 4 }])
    return callback(null, '127.0.0.1', 4)
  }
  return dns.lookup(hostname, options, callback)
}

// httpGet fetches an http URL with .localhost names resolved locally and
// returns its status and body.
export function httpGet(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { lookup: lookupLocalhost, headers, timeout: 10_000 }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Failure(`GET ${url}: no answer within 10s`)))
    req.on('error', reject)
  })
}

// Context is what a scenario gets: its reporter, the sandbox it may
// share, and sandboxes of its own that are killed when it ends.
export class Context extends Reporter {
  constructor(scenario, { sandboxId, template, keep }) {
    super(scenario)
    this.sandboxId = sandboxId
    this.template = template
    this.keep = keep
    this.owned = []
  }

  // create makes a sandbox of the scenario's own, killed at its end
  // unless kept.
  async create(opts = {}) {
    const all = { requestTimeoutMs: slowCallMs, ...opts }
    const sbx = await (this.template ? Sandbox.create(this.template, all) : Sandbox.create(all))
    this.owned.push(sbx)
    return sbx
  }

  // shared is the sandbox given with --sandbox, else one of the
  // scenario's own.
  async shared() {
    if (!this.sandboxId) return this.create({ metadata: { scenario: this.scenario, run: randomUUID() } })
    return Sandbox.connect(this.sandboxId, { requestTimeoutMs: slowCallMs })
  }

  // sandbox is shared(), reported as the scenario's first check.
  async sandbox() {
    let sbx
    const what = this.sandboxId ? 'connect to the shared sandbox' : 'create a sandbox'
    await this.check(what, async () => {
      sbx = await this.shared()
      return { sandboxId: sbx.sandboxId }
    }, slowCallMs)
    return sbx
  }

  // cleanup kills the scenario's own sandboxes; a kill that fails is
  // noted, not fatal: the test's own clean-up removes every VM.
  async cleanup() {
    if (this.keep) return
    for (const sbx of this.owned) {
      try {
        await Sandbox.kill(sbx.sandboxId, { requestTimeoutMs: slowCallMs })
      } catch (err) {
        this.note('killing a sandbox at the end failed', { sandboxId: sbx.sandboxId, error: describe(err) })
      }
    }
  }
}
