// Commands that outlive the link to their sandbox: started, let go, then
// found again after the sandbox was paused and resumed, or after the
// server behind the API restarted.
import { CommandExitError, NotFoundError, expect, rejects, waitFor } from '../lib.mjs'

// pidsFile is where leave writes the pids of the commands it let go, for
// rejoin, run by another process, to find.
const pidsFile = '/tmp/e2b-kept-pids.json'

// releaseFile, once it exists, lets the command that waits on it finish.
const releaseFile = '/tmp/e2b-kept-release'

const ticker = 'i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done'
const waiter = `while [ ! -e ${releaseFile} ]; do sleep 0.1; done; echo finished; exit 7`

// ticks are the numbers of the tick lines in out.
const ticks = (out) => [...out.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]))

// leave starts, in box, a ticking command and one that waits to be
// released, and lets go of both, as a client that goes away does. It
// returns their pids and writes them to pidsFile.
export async function leave(ctx, box) {
  let pids
  await ctx.check('start a ticking command and a waiting one; let go of both', async () => {
    await box.commands.run(`rm -f ${releaseFile}`)
    let out = ''
    const tick = await box.commands.run(ticker, { background: true, timeoutMs: 0, onStdout: (d) => (out += d) })
    const wait = await box.commands.run(waiter, { background: true, timeoutMs: 0 })
    await waitFor('two ticks', () => ticks(out).length >= 2)
    await tick.disconnect()
    await wait.disconnect()
    pids = { ticker: tick.pid, waiter: wait.pid }
    await box.files.write(pidsFile, JSON.stringify(pids))
    return pids
  })
  return pids
}

// leaveScenario is leave on the shared sandbox, which rejoin checks after
// the server restarted.
export async function leaveScenario(ctx) {
  await leave(ctx, await ctx.sandbox())
}

// rejoinScenario is rejoin on the shared sandbox, with the pids leave
// wrote there.
export async function rejoinScenario(ctx) {
  const box = await ctx.sandbox()
  const pids = JSON.parse(await box.files.read(pidsFile))
  await rejoin(ctx, box, pids)
}

// listed is the pids commands.list shows.
async function listed(box) {
  return (await box.commands.list()).map((p) => p.pid)
}

// rejoin checks, after the link to box went and came back, what leave
// left: both commands are listed; the ticking one goes on ticking to a
// client that connects to it again, until kill ends it; the waiting one,
// released, ends while nobody follows it and is gone, as any command
// that ends unfollowed: no longer listed, and no process to connect to
// or kill.
export async function rejoin(ctx, box, pids) {
  await ctx.check('commands.list shows both commands', async () => {
    const got = await listed(box)
    expect(got.includes(pids.ticker) && got.includes(pids.waiter), `list ${JSON.stringify(got)}, want ${pids.ticker} and ${pids.waiter}`)
  })
  let h
  let out = ''
  await ctx.check('commands.connect to the ticking command gets its ticks as they come', async () => {
    h = await box.commands.connect(pids.ticker, { timeoutMs: 0, onStdout: (d) => (out += d) })
    expect(h.pid === pids.ticker, `connected to pid ${h.pid}, want ${pids.ticker}`)
    await waitFor('a tick', () => ticks(out).length > 0)
    const first = Math.max(...ticks(out))
    await waitFor(`a tick after tick ${first}`, () => Math.max(...ticks(out)) > first)
    return { ticks: ticks(out).length }
  })
  await ctx.check('commands.kill ends it: wait() gets the end, the list drops it', async () => {
    expect((await box.commands.kill(pids.ticker)) === true, 'kill() returned false for a running command')
    const err = await rejects(h.wait(), CommandExitError, 'wait() after kill')
    expect(err.exitCode !== 0 && /killed/.test(err.error ?? ''), `end: exit code ${err.exitCode}, error ${JSON.stringify(err.error)}`)
    await waitFor('pid gone from commands.list', async () => !(await listed(box)).includes(pids.ticker))
    expect((await box.commands.kill(pids.ticker)) === false, 'a second kill() returned true, want false')
    return { exitCode: err.exitCode, error: err.error }
  })
  await ctx.check('the waiting command, released, ends unfollowed: the list drops it, connect and kill find no process', async () => {
    await box.files.write(releaseFile, 'go')
    await waitFor('the waiting command gone from commands.list', async () => !(await listed(box)).includes(pids.waiter))
    await rejects(box.commands.connect(pids.waiter, { timeoutMs: 0 }), NotFoundError, 'connect() to the ended command')
    expect((await box.commands.kill(pids.waiter)) === false, 'kill() of the ended command returned true, want false')
  })
}
