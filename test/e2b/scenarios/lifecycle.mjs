// A sandbox's life: create, list, timeouts, pause and connect, fork, ports
// reached from outside, several at once, kill.
import { randomUUID } from 'node:crypto'
import { Sandbox, SandboxNotFoundError, expect, httpGet, rejects, slowCallMs, waitFor } from '../lib.mjs'
import { leave, rejoin } from './kept.mjs'

// create: Sandbox.create answers once the sandbox runs commands. With
// --keep the sandbox stays, for the scenarios that share it.
export async function create(ctx) {
  const run = randomUUID()
  let sbx
  await ctx.check('Sandbox.create', async () => {
    sbx = await ctx.create({ metadata: { suite: 'banger-e2e', run }, timeoutMs: 60 * 60_000 })
    expect(/^[a-z0-9-]+$/i.test(sbx.sandboxId), `sandboxId ${JSON.stringify(sbx.sandboxId)}`)
    return { sandboxId: sbx.sandboxId, domain: sbx.sandboxDomain }
  }, slowCallMs)
  await ctx.check('a command runs at once', async () => {
    const r = await sbx.commands.run('echo ready')
    expect(r.stdout === 'ready\n', `stdout ${JSON.stringify(r.stdout)}`)
  })
  await ctx.check('getInfo gives the id, metadata and state', async () => {
    const info = await sbx.getInfo()
    expect(info.sandboxId === sbx.sandboxId, `getInfo id ${info.sandboxId}`)
    expect(info.metadata?.run === run, `metadata ${JSON.stringify(info.metadata)}`)
    expect(info.state === 'running', `state ${info.state}`)
    return { templateId: info.templateId, envdVersion: info.envdVersion, endAt: info.endAt, metadata: info.metadata }
  })
  if (ctx.keep) ctx.line({ check: 'kept for the next scenarios', ok: true, sandboxId: sbx.sandboxId })
}

// list: Sandbox.list filters on metadata.
export async function list(ctx) {
  const sbx = await ctx.sandbox()
  const metadata = (await sbx.getInfo()).metadata
  const ids = async (query) => (await Sandbox.list({ query }).nextItems()).map((i) => i.sandboxId)
  await ctx.check('list with its metadata finds the sandbox alone', async () => {
    expect(Object.keys(metadata).length > 0, 'the sandbox has no metadata to filter on')
    const got = await ids({ metadata })
    expect(got.length === 1 && got[0] === sbx.sandboxId, `list ${JSON.stringify(metadata)} = ${JSON.stringify(got)}, want [${sbx.sandboxId}]`)
    return { metadata }
  })
  await ctx.check('list with other metadata does not', async () => {
    const got = await ids({ metadata: { ...metadata, nosuch: randomUUID() } })
    expect(got.length === 0, `list with a key no sandbox has = ${JSON.stringify(got)}, want none`)
  })
  await ctx.check('an unfiltered list includes it, running, with its metadata', async () => {
    const items = await Sandbox.list().nextItems()
    const it = items.find((i) => i.sandboxId === sbx.sandboxId)
    const same = it && Object.entries(metadata).every(([k, v]) => it.metadata?.[k] === v)
    expect(it?.state === 'running' && same, `list: ${JSON.stringify(it ?? items.map((i) => i.sandboxId))}`)
  })
}

// timeout: setTimeout moves the end; once it passes the sandbox is gone.
export async function timeout(ctx) {
  const sbx = await ctx.create({ timeoutMs: 30 * 60_000 })
  const before = await sbx.getInfo()
  await ctx.check('setTimeout(10s) moves endAt earlier', async () => {
    await sbx.setTimeout(10_000)
    const after = await sbx.getInfo()
    expect(after.endAt < before.endAt, `endAt ${after.endAt.toISOString()}, was ${before.endAt.toISOString()}`)
    return { endAt: after.endAt }
  })
  await ctx.check('after the timeout the sandbox is gone', async () => {
    await waitFor('getInfo says SandboxNotFoundError', async () => {
      try {
        await Sandbox.getInfo(sbx.sandboxId)
        return false
      } catch (err) {
        if (err instanceof SandboxNotFoundError) return true
        throw err
      }
    }, 120_000, 1000)
    expect((await Sandbox.kill(sbx.sandboxId)) === false, 'kill of an expired sandbox returned true')
  }, 180_000)
}

// pause: pause saves the sandbox whole; connect resumes it with its
// processes and memory, so a counter in a shell keeps counting, and the
// commands started before the pause are found again by pid.
export async function pause(ctx) {
  const sbx = await ctx.create()
  const counter = '/dev/shm/e2b-counter' // tmpfs: memory, not disk
  const read = async (box) => Number((await box.files.read(counter)).trim())
  let pid, before
  await ctx.check('a counter runs in the background', async () => {
    const h = await sbx.commands.run(`n=0; while :; do n=$((n+1)); echo $n > ${counter}; sleep 0.2; done`, { background: true, timeoutMs: 0 })
    pid = h.pid
    await h.disconnect()
    await waitFor('the counter past 3', async () => (await read(sbx)) > 3)
    before = await read(sbx)
    return { pid, counter: before }
  })
  const kept = await leave(ctx, sbx)
  await ctx.check('pause; the sandbox lists as paused', async () => {
    expect((await sbx.pause({ requestTimeoutMs: slowCallMs })) === true, 'pause() returned false')
    const items = await Sandbox.list({ query: { state: ['paused'] } }).nextItems()
    expect(items.some((i) => i.sandboxId === sbx.sandboxId), `paused list: ${JSON.stringify(items.map((i) => i.sandboxId))}`)
  }, slowCallMs)
  let back
  await ctx.check('Sandbox.connect resumes it; the counter goes on from where it was', async () => {
    back = await Sandbox.connect(sbx.sandboxId, { requestTimeoutMs: slowCallMs })
    expect(back.sandboxId === sbx.sandboxId, `connect gave ${back.sandboxId}`)
    const resumed = await read(back)
    expect(resumed >= before, `counter ${resumed} after resume, was ${before}: memory was lost`)
    await waitFor('the counter moves on', async () => (await read(back)) > resumed)
    const r = await back.commands.run(`kill -0 ${pid} && echo alive`)
    expect(r.stdout === 'alive\n', `process ${pid} after resume: ${JSON.stringify(r.stdout)}`)
    return { before, resumed }
  }, slowCallMs)
  await rejoin(ctx, back, kept)
}

// fork: a running copy has the parent's disk and memory, then its own.
export async function fork(ctx) {
  if (typeof Sandbox.prototype.fork !== 'function') {
    ctx.note('skipped: this SDK has no Sandbox.fork')
    return
  }
  const sbx = await ctx.create()
  let child
  await ctx.check('fork() gives a running copy', async () => {
    await sbx.files.write('/root/e2b-fork-disk', 'parent disk')
    await sbx.commands.run('echo parent memory > /dev/shm/e2b-fork-mem')
    const [result] = await sbx.fork({ count: 1, requestTimeoutMs: slowCallMs })
    if (result instanceof Error) throw result
    child = result
    ctx.owned.push(child)
    expect(child.sandboxId !== sbx.sandboxId, `the fork has the parent's id ${child.sandboxId}`)
    return { fork: child.sandboxId }
  }, slowCallMs)
  await ctx.check("the copy has the parent's disk and memory", async () => {
    expect((await child.files.read('/root/e2b-fork-disk')) === 'parent disk', 'disk file differs')
    expect((await child.files.read('/dev/shm/e2b-fork-mem')) === 'parent memory\n', 'tmpfs file differs')
  })
  await ctx.check('then each goes its own way', async () => {
    await child.files.write('/root/e2b-fork-disk', 'child disk')
    expect((await sbx.files.read('/root/e2b-fork-disk')) === 'parent disk', "the child's write shows in the parent")
    expect((await sbx.commands.run('echo parent alive')).stdout === 'parent alive\n', 'the parent does not run commands')
  })
}

// host: getHost(8000) reaches a server started in the sandbox.
export async function host(ctx) {
  const sbx = await ctx.sandbox()
  const token = randomUUID()
  await ctx.check('an HTTP server on port 8000 starts in the sandbox', async () => {
    await sbx.files.write('/tmp/e2b-www/index.html', token)
    await sbx.commands.run('python3 -m http.server 8000', { cwd: '/tmp/e2b-www', background: true, timeoutMs: 0 })
  })
  await ctx.check('GET http://getHost(8000)/ reaches it', async () => {
    const url = `http://${sbx.getHost(8000)}/`
    const res = await waitFor(`GET ${url}`, async () => {
      const r = await httpGet(url)
      return r.status === 200 ? r : false
    })
    expect(res.body === token, `GET ${url}: ${JSON.stringify(res.body.slice(0, 200))}`)
    return { url }
  })
}

// three: three sandboxes at once, each its own machine.
export async function three(ctx) {
  let boxes
  await ctx.check('three Sandbox.create at once', async () => {
    boxes = await Promise.all([0, 1, 2].map((i) => ctx.create({ metadata: { scenario: 'three', i: String(i) } })))
    const ids = new Set(boxes.map((b) => b.sandboxId))
    expect(ids.size === 3, `ids ${[...ids]}`)
    return { sandboxIds: [...ids] }
  }, slowCallMs)
  await ctx.check('each runs commands and has its own files', async () => {
    await Promise.all(boxes.map((b, i) => b.files.write('/root/which', `${i}\n`)))
    const got = await Promise.all(boxes.map((b) => b.commands.run('cat /root/which; cat /proc/sys/kernel/random/boot_id')))
    const boots = new Set(got.map((r) => r.stdout.split('\n')[1]))
    expect(got.every((r, i) => r.stdout.startsWith(`${i}\n`)), `files: ${JSON.stringify(got.map((r) => r.stdout))}`)
    expect(boots.size === 3, `boot ids are not all different: ${[...boots]}`)
  })
}

// kill: kill removes the sandbox; a second kill says it was not there.
export async function kill(ctx) {
  const sbx = await ctx.sandbox()
  await ctx.check('kill() is true; the sandbox is gone', async () => {
    expect((await sbx.kill({ requestTimeoutMs: slowCallMs })) === true, 'kill() returned false')
    await rejects(Sandbox.getInfo(sbx.sandboxId), SandboxNotFoundError, 'getInfo after kill')
    const items = await Sandbox.list().nextItems()
    expect(!items.some((i) => i.sandboxId === sbx.sandboxId), 'the killed sandbox is still listed')
  }, slowCallMs)
  await ctx.check('a second kill() is false', async () => {
    expect((await Sandbox.kill(sbx.sandboxId)) === false, 'kill of a killed sandbox returned true')
  })
}
