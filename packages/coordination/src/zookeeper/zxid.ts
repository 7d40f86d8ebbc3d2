/** A zxid (8 bytes, big-endian) as a bigint; undefined for anything else. */
export function zxidToBigInt(zxid: Buffer | undefined): bigint | undefined {
  return Buffer.isBuffer(zxid) && zxid.length === 8 ? zxid.readBigInt64BE(0) : undefined;
}
