/**
 * SMTP AUTH (PLAIN/LOGIN) credential check against the configured users. Comparisons run in
 * constant time over SHA-256 digests (equal lengths whatever the input) and every user is checked,
 * so timing reveals neither a password prefix nor whether a user name exists. Passwords are never
 * logged or returned.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface AuthUser {
  user: string;
  password: string;
}

export type AuthVerifier = (user: string, password: string) => boolean;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function createAuthVerifier(users: readonly AuthUser[]): AuthVerifier {
  const table = users.map((u) => ({ user: digest(u.user), password: digest(u.password) }));
  return (user, password) => {
    const du = digest(user);
    const dp = digest(password);
    let ok = false;
    for (const u of table) {
      const userOk = timingSafeEqual(du, u.user);
      const passOk = timingSafeEqual(dp, u.password);
      if (userOk && passOk) ok = true;
    }
    return ok;
  };
}
