// Files: sandbox.files, watchDir and the signed upload and download URLs.
import { randomBytes, randomUUID } from 'node:crypto'
import { FileNotFoundError, FileType, expect, rejects, sandboxHeaders, waitFor } from '../lib.mjs'

// files: write, read, list, makeDir, rename, remove and exists agree with
// each other and with what a command in the sandbox sees.
export async function files(ctx) {
  const sbx = await ctx.sandbox()
  const dir = `/tmp/e2b-files-${randomUUID().slice(0, 8)}`
  await ctx.check('write makes parents; read gives the text back', async () => {
    const info = await sbx.files.write(`${dir}/a/hello.txt`, 'hello, sandbox\n')
    expect(info.path === `${dir}/a/hello.txt` && info.name === 'hello.txt', `write answered ${JSON.stringify(info)}`)
    const text = await sbx.files.read(`${dir}/a/hello.txt`)
    expect(text === 'hello, sandbox\n', `read ${JSON.stringify(text)}`)
    const r = await sbx.commands.run(`cat ${dir}/a/hello.txt`)
    expect(r.stdout === 'hello, sandbox\n', `cat in the sandbox printed ${JSON.stringify(r.stdout)}`)
  })
  await ctx.check('1 MiB of random bytes round-trips', async () => {
    const data = randomBytes(1 << 20)
    await sbx.files.write(`${dir}/blob.bin`, data.buffer.slice(data.byteOffset, data.byteOffset + data.length))
    const back = await sbx.files.read(`${dir}/blob.bin`, { format: 'bytes' })
    expect(Buffer.from(back).equals(data), `read ${back.length} bytes, not the ${data.length} written`)
  })
  await ctx.check('makeDir is mkdir -p, false when the directory exists', async () => {
    expect((await sbx.files.makeDir(`${dir}/b/c`)) === true, 'makeDir of a new path returned false')
    expect((await sbx.files.makeDir(`${dir}/b/c`)) === false, 'makeDir of an existing directory returned true')
  })
  await ctx.check('list shows files and directories with their types and sizes', async () => {
    const entries = await sbx.files.list(`${dir}/a`)
    const hello = entries.find((e) => e.name === 'hello.txt')
    expect(hello?.type === FileType.FILE && hello.size === 15 && hello.path === `${dir}/a/hello.txt`, `list ${dir}/a: ${JSON.stringify(entries)}`)
    const top = (await sbx.files.list(dir)).map((e) => `${e.name}:${e.type}`).sort()
    expect(JSON.stringify(top) === JSON.stringify(['a:dir', 'b:dir', 'blob.bin:file']), `list ${dir}: ${top}`)
  })
  await ctx.check('rename moves; exists follows', async () => {
    const moved = await sbx.files.rename(`${dir}/a/hello.txt`, `${dir}/b/moved.txt`)
    expect(moved.path === `${dir}/b/moved.txt`, `rename answered ${JSON.stringify(moved)}`)
    expect((await sbx.files.exists(`${dir}/a/hello.txt`)) === false, 'the old path still exists')
    expect((await sbx.files.exists(`${dir}/b/moved.txt`)) === true, 'the new path does not exist')
    expect((await sbx.files.read(`${dir}/b/moved.txt`)) === 'hello, sandbox\n', 'the moved file lost its content')
  })
  await ctx.check('remove deletes a tree; reading it is FileNotFoundError', async () => {
    await sbx.files.remove(dir)
    expect((await sbx.files.exists(dir)) === false, `${dir} still exists after remove`)
    await rejects(sbx.files.read(`${dir}/b/moved.txt`), FileNotFoundError, 'read of a removed file')
    await rejects(sbx.files.list(dir), FileNotFoundError, 'list of a removed directory')
  })
}

// watch: watchDir reports a file that a command creates.
export async function watch(ctx) {
  const sbx = await ctx.sandbox()
  const dir = `/tmp/e2b-watch-${randomUUID().slice(0, 8)}`
  const events = []
  let handle
  await ctx.check('watchDir on a new directory', async () => {
    await sbx.files.makeDir(dir)
    handle = await sbx.files.watchDir(dir, (e) => events.push(e), { timeoutMs: 0 })
  })
  await ctx.check('a file a command creates is reported', async () => {
    await sbx.commands.run(`echo made by a command > ${dir}/new.txt`)
    await waitFor('an event for new.txt', () => events.some((e) => e.name === 'new.txt' && (e.type === 'create' || e.type === 'write')))
    return { events: events.map((e) => `${e.type} ${e.name}`) }
  })
  await handle?.stop()
  await sbx.files.remove(dir)
}

// urls: uploadUrl and downloadUrl are signed (the sandbox is secured) and
// work with plain HTTP: a multipart POST puts a file, a GET reads it.
export async function urls(ctx) {
  const sbx = await ctx.sandbox()
  const path = `/tmp/e2b-urls-${randomUUID().slice(0, 8)}/up.txt`
  const content = `uploaded ${randomUUID()}\n`
  const headers = sandboxHeaders(sbx.sandboxId)
  await ctx.check('POST a multipart file to uploadUrl', async () => {
    const url = await sbx.uploadUrl(path)
    expect(new URL(url).searchParams.has('signature'), `uploadUrl is not signed: ${url}`)
    const form = new FormData()
    form.append('file', new Blob([content]), 'up.txt')
    const res = await fetch(url, { method: 'POST', body: form, headers })
    expect(res.ok, `POST ${url}: ${res.status} ${await res.text()}`)
    expect((await sbx.files.read(path)) === content, 'files.read does not give the uploaded content')
  })
  await ctx.check('GET downloadUrl', async () => {
    const url = await sbx.downloadUrl(path)
    const res = await fetch(url, { headers })
    const body = await res.text()
    expect(res.ok && body === content, `GET ${url}: ${res.status} ${JSON.stringify(body.slice(0, 200))}`)
  })
  await ctx.check('a URL with a wrong signature is refused', async () => {
    const url = new URL(await sbx.downloadUrl(path))
    url.searchParams.set('signature', 'v1_' + '0'.repeat(64))
    const res = await fetch(url, { headers })
    expect(res.status === 401 || res.status === 403, `GET with a wrong signature: ${res.status}, want 401 or 403`)
    return { status: res.status }
  })
}
