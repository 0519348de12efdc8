import { hash, verify } from '@node-rs/argon2';

/** @node-rs/argon2's Algorithm.Argon2id (an ambient const enum, so named here). */
const ARGON2ID = 2;

/**
 * argon2id hashing of PINs, knowledge answers and staff passwords, with a pepper
 * (argon2's "secret" input) held outside the database: a stolen database alone
 * verifies nothing.
 */
export class SecretHasher {
  private readonly pepper: Buffer;
  constructor(
    pepper: string,
    private readonly memoryCost: number,
    private readonly timeCost: number,
  ) {
    this.pepper = Buffer.from(pepper, 'utf8');
  }

  hash(secret: string): Promise<string> {
    return hash(secret, {
      algorithm: ARGON2ID,
      memoryCost: this.memoryCost,
      timeCost: this.timeCost,
      parallelism: 1,
      secret: this.pepper,
    });
  }

  async verify(stored: string, secret: string): Promise<boolean> {
    try {
      return await verify(stored, secret, { secret: this.pepper });
    } catch {
      return false;
    }
  }
}

/** Knowledge answers compare case- and space-insensitively ("  Blue " = "blue"). */
export const normaliseAnswer = (s: string): string =>
  s.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
