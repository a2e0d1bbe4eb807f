// Errors the SDK must see as its own error classes.
import {
  AuthenticationError,
  Sandbox,
  SandboxNotFoundError,
  expect,
  rejects,
} from '../lib.mjs'

// apierrors: the control plane's refusals, no sandbox needed.
export async function apierrors(ctx) {
  const wrongKey = { apiKey: 'e2b_' + '0'.repeat(40) }
  await ctx.check('a wrong API key: AuthenticationError', async () => {
    await rejects(Sandbox.create({ ...wrongKey, requestTimeoutMs: 30_000 }), AuthenticationError, 'create with a wrong key')
    await rejects(Sandbox.list(wrongKey).nextItems(), AuthenticationError, 'list with a wrong key')
  })
  const unknown = 'nosuchsandbox0000000000'
  await ctx.check('an unknown sandbox: SandboxNotFoundError; kill says false', async () => {
    await rejects(Sandbox.connect(unknown), SandboxNotFoundError, 'connect to an unknown sandbox')
    await rejects(Sandbox.getInfo(unknown), SandboxNotFoundError, 'getInfo of an unknown sandbox')
    expect((await Sandbox.kill(unknown)) === false, 'kill of an unknown sandbox returned true')
  })
  await ctx.check('a malformed body: 400 with a numeric code and a message', async () => {
    const bodies = { 'broken JSON': '{"templateID": ', 'a wrongly typed field': '{"templateID": 42, "timeout": "soon"}' }
    const got = {}
    for (const [what, body] of Object.entries(bodies)) {
      const res = await fetch(new URL('/v2/sandboxes', process.env.E2B_API_URL), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-API-KEY': process.env.E2B_API_KEY },
        body,
      })
      const text = await res.text()
      let answer
      try {
        answer = JSON.parse(text)
      } catch {
        throw new Error(`${what}: ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`)
      }
      expect(res.status === 400 && answer.code === 400 && typeof answer.message === 'string' && answer.message !== '',
        `${what}: ${res.status} ${text.slice(0, 200)}, want 400 {"code": 400, "message": ...}`)
      got[what] = answer.message
    }
    return got
  })
}

// token: the sandbox side refuses a wrong or missing access token with
// AuthenticationError, on Connect calls and on /files alike.
export async function token(ctx) {
  const sbx = await ctx.sandbox()
  const info = await sbx.getInfo()
  // The SDK keeps the token it got from create or connect; a second
  // client of the same sandbox with another token is what a leaked id
  // without its token gives.
  const withToken = (envdAccessToken) =>
    new Sandbox({ sandboxId: sbx.sandboxId, sandboxDomain: sbx.sandboxDomain, envdVersion: info.envdVersion, envdAccessToken })
  for (const [what, t] of [['a wrong access token', 'wrong-token'], ['no access token', undefined]]) {
    await ctx.check(`${what}: AuthenticationError`, async () => {
      const bad = withToken(t)
      await rejects(bad.commands.run('true'), AuthenticationError, `commands.run with ${what}`)
      await rejects(bad.files.read('/etc/hostname'), AuthenticationError, `files.read with ${what}`)
      await rejects(bad.files.list('/'), AuthenticationError, `files.list with ${what}`)
    })
  }
  await ctx.check('the right token still works', async () => {
    expect((await sbx.commands.run('echo ok')).stdout === 'ok\n', 'commands.run with the right token failed')
  })
}
