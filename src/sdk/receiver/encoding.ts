/**
 * Byte helpers built only on what every Web-Crypto runtime has (TextEncoder,
 * atob/btoa), so the verify path never needs `node:buffer`. Buffer is a
 * Uint8Array subclass, so Node callers pass it straight in.
 */

export type RawBody = string | Uint8Array | ArrayBuffer;

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decode UTF-8; with `fatal` an invalid sequence throws instead of becoming U+FFFD. */
export function fromUtf8(bytes: Uint8Array, fatal = false): string {
  return new TextDecoder('utf-8', { fatal, ignoreBOM: true }).decode(bytes);
}

/**
 * The exact bytes that were signed. Strings are UTF-8 encoded, which is what
 * every sender does; a Buffer/Uint8Array is used as-is (never copied through
 * a string, so invalid UTF-8 still verifies byte for byte).
 */
export function toBytes(body: RawBody): Uint8Array {
  if (typeof body === 'string') return utf8(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError(
    'rawBody must be a string, Uint8Array/Buffer or ArrayBuffer; a parsed object cannot be verified because re-serialising changes the bytes',
  );
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict standard base64 (padding optional). Returns undefined when malformed. */
export function fromBase64(text: string): Uint8Array | undefined {
  if (!BASE64_RE.test(text)) return undefined;
  const unpadded = text.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return undefined;
  const padded = unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4);
  let binary: string;
  try {
    binary = atob(padded);
  } catch {
    return undefined;
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  // Chunked so large inputs don't blow the argument limit of fromCharCode.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Hex in either letter case. Returns undefined when malformed or of odd length. */
export function fromHex(text: string): Uint8Array | undefined {
  if (!HEX_RE.test(text)) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

export type SignatureEncoding = 'hex' | 'base64';

export function decodeSignature(text: string, encoding: SignatureEncoding): Uint8Array | undefined {
  return encoding === 'hex' ? fromHex(text) : fromBase64(text);
}

export function encodeSignature(bytes: Uint8Array, encoding: SignatureEncoding): string {
  return encoding === 'hex' ? toHex(bytes) : toBase64(bytes);
}
