/**
 * Static smtp-server options from the push config: size (advertised and enforced), TLS (STARTTLS
 * only with the configured certificate; never smtp-server's built-in public key), AUTH (off unless
 * configured; PLAIN/LOGIN; insecure only with allowInsecure), limits, timeouts and PROXY protocol.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SMTPServerOptions } from 'smtp-server';
import type { PushConfig } from '../../config/schema.js';
import { ConfigError } from '../../core/errors.js';

export type StaticOptions = Omit<
  SMTPServerOptions,
  'onConnect' | 'onAuth' | 'onMailFrom' | 'onRcptTo' | 'onData' | 'onClose' | 'onSecure' | 'logger'
>;

export function serverOptions(cfg: PushConfig, baseDir: string): StaticOptions {
  const disabled: string[] = [];
  const opts: StaticOptions = {
    name: cfg.hostname,
    banner: 'mailintake',
    size: cfg.maxSize,
    rejectOversized: true,
    maxClients: cfg.maxClients,
    maxRecipients: cfg.maxRecipients,
    socketTimeout: cfg.socketTimeout,
    closeTimeout: cfg.shutdownGrace,
    disableReverseLookup: true,
    hideENHANCEDSTATUSCODES: true,
    secure: false,
  };
  if (cfg.tls) {
    const read = (p: string, key: string): Buffer => {
      try {
        return readFileSync(resolve(baseDir, p));
      } catch (err) {
        throw new ConfigError(
          `push.tls.${key}`,
          `cannot read ${p}: ${(err as Error).message}`,
          'point it at a readable PEM file',
        );
      }
    };
    opts.key = read(cfg.tls.keyFile, 'keyFile');
    opts.cert = read(cfg.tls.certFile, 'certFile');
  } else {
    disabled.push('STARTTLS');
    opts.hideSTARTTLS = true;
  }
  if (cfg.auth) {
    if (cfg.auth.required && !cfg.tls && !cfg.auth.allowInsecure) {
      throw new ConfigError(
        'push.auth',
        'AUTH is required but neither TLS nor insecure AUTH is enabled, so no client could ever log in',
        'configure push.tls, or set push.auth.allowInsecure: true (trusted networks only)',
      );
    }
    opts.authMethods = ['PLAIN', 'LOGIN'];
    opts.authOptional = !cfg.auth.required;
    opts.allowInsecureAuth = cfg.auth.allowInsecure;
  } else {
    disabled.push('AUTH');
  }
  opts.disabledCommands = disabled;
  if (cfg.proxyProtocol?.length) opts.useProxy = cfg.proxyProtocol;
  return opts;
}

/** Splits `host:port` / `[v6]:port`. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!m) throw new ConfigError('push.listen', `"${listen}" is not host:port`, 'use e.g. "127.0.0.1:2525"');
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port: Number(m[3]) };
}
