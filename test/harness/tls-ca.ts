// A throwaway certificate authority plus a leaf certificate for localhost/127.0.0.1, made with openssl,
// so tests can verify TLS for real (verification on, CA given as a file) rather than trusting anything.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOk } from './exec.js';

/** Paths of the generated PEM files. */
export interface TestCa {
  caFile: string;
  certFile: string;
  keyFile: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Creates ca.crt, server.crt and server.key (EC P-256, 2 days) in `dir`. */
export async function makeTestCa(dir: string): Promise<TestCa> {
  const p = (name: string): string => join(dir, name);
  await runOk('openssl', [
    'req', '-x509', ...EC, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2',
    '-subj', '/CN=mailintake test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]); // prettier-ignore
  await runOk('openssl', [
    'req',
    ...EC,
    '-keyout',
    p('server.key'),
    '-out',
    p('server.csr'),
    '-subj',
    '/CN=localhost',
  ]);
  await writeFile(
    p('server.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' +
      'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n',
  );
  await runOk('openssl', [
    'x509', '-req', '-in', p('server.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'),
    '-CAcreateserial', '-out', p('server.crt'), '-days', '2', '-extfile', p('server.ext'),
  ]); // prettier-ignore
  return { caFile: p('ca.crt'), certFile: p('server.crt'), keyFile: p('server.key') };
}
