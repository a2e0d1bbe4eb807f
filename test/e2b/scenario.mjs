#!/usr/bin/env node
// Runs E2B SDK scenarios against the server that E2B_API_URL,
// E2B_SANDBOX_URL and E2B_API_KEY name (`eval "$(banger e2b env)"`).
//
//   node scenario.mjs [flags] NAME...    run scenarios in order
//   node scenario.mjs all                every scenario, one shared sandbox
//   node scenario.mjs --list             name the scenarios
//
// Flags:
//   --sandbox ID    scenarios that can share a sandbox use this one
//   --template T    the template new sandboxes come from (default: base)
//   --keep          leave the sandboxes a scenario made (create prints
//                   the id to share)
//   --timeout S     give up after S seconds in all (default 900)
//
// Each check prints one JSON line on stdout: {"scenario", "check", "ok",
// "ms", ...}; a failed one has "ok": false, "error" and "errorClass", and
// the run stops there with exit status 1. Exit status 2 is a usage error.
import { Context, Reported, Sandbox, describe, missingVars, connectionVars } from './lib.mjs'
import * as commands from './scenarios/commands.mjs'
import * as files from './scenarios/files.mjs'
import * as lifecycle from './scenarios/lifecycle.mjs'
import * as errors from './scenarios/errors.mjs'
import * as kept from './scenarios/kept.mjs'

// scenarios in the order `all` runs them; shared ones take --sandbox.
export const scenarios = {
  create: { run: lifecycle.create },
  commands: { run: commands.commands, shared: true },
  stdin: { run: commands.stdin, shared: true },
  background: { run: commands.background, shared: true },
  pty: { run: commands.pty, shared: true },
  files: { run: files.files, shared: true },
  watch: { run: files.watch, shared: true },
  urls: { run: files.urls, shared: true },
  list: { run: lifecycle.list, shared: true },
  host: { run: lifecycle.host, shared: true },
  token: { run: errors.token, shared: true },
  leave: { run: kept.leaveScenario, shared: true },
  rejoin: { run: kept.rejoinScenario, shared: true },
  apierrors: { run: errors.apierrors },
  timeout: { run: lifecycle.timeout },
  pause: { run: lifecycle.pause },
  fork: { run: lifecycle.fork },
  three: { run: lifecycle.three },
  kill: { run: lifecycle.kill, shared: true },
}

function usage(msg) {
  process.stderr.write(`scenario.mjs: ${msg}\nusage: node scenario.mjs [--sandbox ID] [--template T] [--keep] [--timeout S] NAME... | all | --list\nscenarios: ${Object.keys(scenarios).join(' ')}\n`)
  process.exit(2)
}

function parseArgs(argv) {
  const opts = { names: [], keep: false, timeoutS: 900 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => argv[++i] ?? usage(`${a} needs a value`)
    if (a === '--sandbox') opts.sandboxId = value()
    else if (a === '--template') opts.template = value()
    else if (a === '--keep') opts.keep = true
    else if (a === '--timeout') opts.timeoutS = Number(value())
    else if (a === '--list') opts.list = true
    else if (a.startsWith('-')) usage(`unknown flag ${a}`)
    else opts.names.push(a)
  }
  if (!(opts.timeoutS > 0)) usage('--timeout wants a positive number of seconds')
  return opts
}

// runOne runs one scenario and reports its end; it returns false when
// the scenario failed.
async function runOne(name, opts) {
  const ctx = new Context(name, { ...opts, sandboxId: scenarios[name].shared ? opts.sandboxId : undefined })
  const start = Date.now()
  let ok = true
  try {
    await scenarios[name].run(ctx)
  } catch (err) {
    ok = false
    if (!(err instanceof Reported)) ctx.line({ check: '(outside any check)', ok: false, error: describe(err), errorClass: err?.name })
  } finally {
    await ctx.cleanup()
  }
  ctx.line({ done: true, ok, checks: ctx.checks, ms: Date.now() - start })
  return { ok, ctx }
}

// runAll runs every scenario: create keeps its sandbox for the shared
// ones, and kill, last, removes it. A failed scenario does not stop the
// ones after it, but a failed create does.
async function runAll(opts) {
  const first = await runOne('create', { ...opts, keep: true })
  if (!first.ok) return false
  const id = first.ctx.owned[0].sandboxId
  let ok = true
  for (const name of Object.keys(scenarios).slice(1)) {
    ok = (await runOne(name, { ...opts, sandboxId: id })).ok && ok
  }
  await Sandbox.kill(id).catch(() => false)
  return ok
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  if (opts.list) {
    for (const [name, s] of Object.entries(scenarios)) console.log(`${name}${s.shared ? ' (shares --sandbox)' : ''}`)
    return 0
  }
  if (opts.names.length === 0) usage('name a scenario, or all')
  for (const n of opts.names) if (n !== 'all' && !scenarios[n]) usage(`no scenario ${n}`)
  const missing = missingVars()
  if (missing.length) usage(`${missing.join(', ')} not set: the scenarios connect with ${connectionVars.join(', ')}; \`eval "$(banger e2b env)"\` sets them`)
  setTimeout(() => {
    process.stdout.write(JSON.stringify({ done: true, ok: false, error: `not done within ${opts.timeoutS}s` }) + '\n')
    process.exit(1)
  }, opts.timeoutS * 1000).unref()
  if (opts.names.includes('all')) return (await runAll(opts)) ? 0 : 1
  for (const name of opts.names) {
    if (!(await runOne(name, opts)).ok) return 1
  }
  return 0
}

// Streams left open (a server started in a sandbox, say) would keep
// Node.js running: the result is in, so leave. Writes to a pipe are
// synchronous on Linux, so every line is out.
process.exit(await main())
