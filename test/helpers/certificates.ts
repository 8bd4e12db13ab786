import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'

/** A throwaway CA and a server certificate for 127.0.0.1 and localhost, made with openssl in `dir`. */
export async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const run = (args: string[]) => execa('openssl', args, { cwd: dir })
  await run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=zreg test CA', '-keyout', 'ca.key', '-out', 'ca.crt'])
  await run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr'])
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  await run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.crt'])
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') }
}
