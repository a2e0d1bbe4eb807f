// Commands and terminals: sandbox.commands and sandbox.pty.
import { CommandExitError, expect, rejects, waitFor } from '../lib.mjs'

// commands: a command's exit code and output come back, a failing one as
// CommandExitError; environment and working directory apply.
export async function commands(ctx) {
  const sbx = await ctx.sandbox()
  await ctx.check("run('echo hi; exit 3') throws CommandExitError, exit code 3, stdout hi", async () => {
    const err = await rejects(sbx.commands.run('echo hi; exit 3'), CommandExitError, "run('echo hi; exit 3')")
    expect(err.exitCode === 3, `exitCode ${err.exitCode}, want 3`)
    expect(err.stdout === 'hi\n', `stdout ${JSON.stringify(err.stdout)}, want "hi\\n"`)
    return { exitCode: err.exitCode, stdout: err.stdout }
  })
  await ctx.check('stdout and stderr apart, with callbacks', async () => {
    const seen = { out: '', err: '' }
    const r = await sbx.commands.run('echo out; echo err >&2', {
      onStdout: (d) => (seen.out += d),
      onStderr: (d) => (seen.err += d),
    })
    expect(r.exitCode === 0 && r.stdout === 'out\n' && r.stderr === 'err\n', `result ${JSON.stringify(r)}`)
    expect(seen.out === 'out\n' && seen.err === 'err\n', `callbacks saw ${JSON.stringify(seen)}`)
  })
  await ctx.check('envs and cwd apply', async () => {
    const r = await sbx.commands.run('echo "$GREETING"; pwd', { envs: { GREETING: 'hello there' }, cwd: '/tmp' })
    expect(r.stdout === 'hello there\n/tmp\n', `stdout ${JSON.stringify(r.stdout)}`)
  })
}

// stdin: a command started with stdin open reads what is sent, through
// the handle and by pid, until stdin is closed.
export async function stdin(ctx) {
  const sbx = await ctx.sandbox()
  let h
  await ctx.check("run('cat', {background, stdin})", async () => {
    h = await sbx.commands.run('cat', { background: true, stdin: true, timeoutMs: 0 })
    expect(h.pid > 0, `pid ${h.pid}`)
    return { pid: h.pid }
  })
  await ctx.check('sendStdin through the handle and by pid, then closeStdin', async () => {
    await h.sendStdin('first line\n')
    await sbx.commands.sendStdin(h.pid, 'second line\n')
    await h.closeStdin()
    const r = await h.wait()
    expect(r.exitCode === 0, `exit code ${r.exitCode}`)
    expect(r.stdout === 'first line\nsecond line\n', `cat printed ${JSON.stringify(r.stdout)}`)
  })
}

// background: a background command keeps running after its caller lets
// go, is listed, can be connected to again by pid and is killed.
export async function background(ctx) {
  const sbx = await ctx.sandbox()
  let h, h2
  let out = ''
  await ctx.check('start a ticking command in the background', async () => {
    h = await sbx.commands.run('i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done', {
      background: true,
      timeoutMs: 0,
      onStdout: (d) => (out += d),
    })
    await waitFor('two ticks', () => out.includes('tick 2'))
    return { pid: h.pid }
  })
  const pid = h.pid
  await ctx.check('commands.list shows it', async () => {
    const list = await sbx.commands.list()
    expect(list.some((p) => p.pid === pid), `pid ${pid} not in ${JSON.stringify(list.map((p) => p.pid))}`)
  })
  let again = ''
  await ctx.check('disconnect, then commands.connect(pid) gets new output', async () => {
    await h.disconnect()
    h2 = await sbx.commands.connect(pid, { timeoutMs: 0, onStdout: (d) => (again += d) })
    expect(h2.pid === pid, `connected to pid ${h2.pid}, want ${pid}`)
    await waitFor('a tick after connecting', () => /tick \d+/.test(again))
  })
  await ctx.check('kill ends it; wait throws CommandExitError; the list drops it', async () => {
    expect((await h2.kill()) === true, 'kill() returned false for a running command')
    const err = await rejects(h2.wait(), CommandExitError, 'wait() after kill')
    await waitFor('pid gone from commands.list', async () => !(await sbx.commands.list()).some((p) => p.pid === pid))
    expect((await sbx.commands.kill(pid)) === false, 'kill() of a finished command returned true, want false')
    return { exitCode: err.exitCode, error: err.error }
  })
}

// pty: a terminal of a given size runs an interactive shell, follows a
// resize, and is killed.
export async function pty(ctx) {
  const sbx = await ctx.sandbox()
  let term
  let screen = ''
  const type = (s) => sbx.pty.sendInput(term.pid, new TextEncoder().encode(s))
  await ctx.check('pty.create 80x24 runs a shell on a terminal', async () => {
    term = await sbx.pty.create({ cols: 80, rows: 24, timeoutMs: 0, onData: (d) => (screen += new TextDecoder().decode(d)) })
    await type('tty; stty size\n')
    await waitFor('tty and stty size answered', () => /\/dev\/pts\/\d+/.test(screen) && /\b24 80\b/.test(screen))
    return { pid: term.pid }
  })
  await ctx.check('resize to 100x30 reaches the terminal', async () => {
    await sbx.pty.resize(term.pid, { cols: 100, rows: 30 })
    await type('stty size\n')
    await waitFor('stty size after resize', () => /\b30 100\b/.test(screen))
  })
  await ctx.check('pty.kill ends it', async () => {
    expect((await sbx.pty.kill(term.pid)) === true, 'pty.kill returned false')
    await rejects(term.wait(), CommandExitError, 'wait() after pty.kill')
  })
}
